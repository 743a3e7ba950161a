"""What a run produced: its verdict and timings (a frozen result), turned into a journal and a store row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

__all__ = ["VERDICTS", "RunResult", "Timings", "Verdict"]

Verdict = Literal["passed", "detection_missed", "remediation_missed", "deviated", "aborted"]
VERDICTS: tuple[Verdict, ...] = ("passed", "detection_missed", "remediation_missed", "deviated", "aborted")


@dataclass(frozen=True, slots=True)
class Timings:
    """When each step happened (UTC, millisecond resolution; durations from the monotonic clock)."""

    started_at: datetime
    ended_at: datetime
    injected_at: datetime | None = None
    detected_at: datetime | None = None
    remediated_at: datetime | None = None
    rolled_back_at: datetime | None = None
    time_to_detect_ms: int | None = None
    time_to_remediate_ms: int | None = None
    injection_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of one run.

    Attributes:
        run_id: the run's id (also the injection id).
        title: the experiment's title.
        verdict: passed, detection_missed, remediation_missed, deviated (steady state lost) or aborted.
        status: Chaos Toolkit's status: completed, failed, aborted or interrupted.
        reason: why the verdict, in a sentence.
        fault: the fault type injected, if any.
        technique: its MITRE ATT&CK technique id, if given.
        timings: when each step happened.
        journal: the journal file.
        recorded: the run was written to the store's experiment_runs table.
        restored: every rollback succeeded (False: something is left for `seclo experiment recover`).
        conflict: the target was changed after the injection, so rollback kept it (what to merge by hand).
        name: the experiment file's name without extension (None when unknown).
    """

    run_id: str
    title: str
    verdict: Verdict
    status: str
    reason: str
    fault: str | None
    technique: str | None
    timings: Timings
    journal: Path
    recorded: bool = True
    restored: bool = True
    name: str | None = None
    conflict: str = ""

    @property
    def interrupted(self) -> bool:
        """The run was stopped by a signal (after rolling back)."""
        return self.status == "interrupted"
