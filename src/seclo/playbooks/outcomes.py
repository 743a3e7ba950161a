"""What the engine reports back: per occurrence a decision, and per step what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from seclo.playbooks.model import Step
from seclo.playbooks.triggers import Occurrence

__all__ = ["Decision", "Guide", "ManualChoice", "Observer", "RunOutcome", "StepOutcome", "StepReport"]

Decision = Literal[
    "ran", "dry_run", "duplicate", "conditions_false", "rate_limited", "manual_only", "error", "expired"
]
StepOutcome = Literal["ok", "failed", "skipped", "done_by_hand", "would_run", "waiting_approval"]
ManualChoice = Literal["confirm", "done", "skip"]


@dataclass(frozen=True, slots=True)
class StepReport:
    """One step of a run (or of a dry run's plan).

    Attributes:
        name: the step's name.
        type: the step's action type.
        outcome: what happened to it.
        summary: one line, secrets redacted.
        action: what the step does, rendered and redacted (method, URL, body; or args...).
        needs_approval: the step waits for a person in this playbook's mode.
        error: why it failed.
    """

    name: str
    type: str
    outcome: StepOutcome
    summary: str
    action: dict[str, Any] = field(default_factory=dict)
    needs_approval: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What the engine did with one occurrence for one playbook.

    Attributes:
        playbook: the playbook's name.
        occurrence: the trigger occurrence.
        decision: ran, dry_run, or why it did not run.
        run_id: the run, when one was started.
        status: the run's status after this call (running, waiting_approval, succeeded, failed).
        steps: the steps run (or planned, in a dry run).
        detail: one line explaining the decision.
    """

    playbook: str
    occurrence: Occurrence
    decision: Decision
    run_id: str | None = None
    status: str | None = None
    steps: tuple[StepReport, ...] = ()
    detail: str = ""


class Guide(Protocol):
    """Walks a person through a manual run (the CLI implements it with prompts)."""

    def choose(
        self, playbook: str, index: int, step: Step, action: dict[str, Any]
    ) -> tuple[ManualChoice, str]:
        """Ask what to do with a step: confirm (seclo runs it), done (done by hand) or skip; and a note."""


class Observer(Protocol):
    """Told when a step starts (the benchmark measures trigger-to-action latency with it)."""

    def step_started(self, run_id: str, playbook: str, step: str, occurrence: Occurrence) -> None:
        """A step is about to run."""
