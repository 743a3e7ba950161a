"""The run journal (Chaos Toolkit's journal shape plus seclo's timings and verdict) and the store record."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from seclo.atomic import write_text_atomic
from seclo.experiments.clock import iso_ms
from seclo.experiments.result import RunResult, Timings
from seclo.experiments.variables import Redactor
from seclo.store.connection import open_store
from seclo.store.sql import run

__all__ = ["base_journal", "record_run", "run_row", "timings_document", "write_journal"]


def base_journal(document: dict[str, Any], version: str) -> dict[str, Any]:
    """A new journal: Chaos Toolkit's keys, with the experiment as written."""
    return {
        "chaoslib-version": None,
        "seclo-version": version,
        "platform": platform.platform(),
        "node": platform.node(),
        "experiment": document,
        "start": None,
        "status": None,
        "deviated": False,
        "steady_states": {"before": None, "after": None, "during": []},
        "run": [],
        "rollbacks": [],
    }


def _ms(value: Any) -> str | None:
    return None if value is None else iso_ms(value)


def timings_document(t: Timings) -> dict[str, Any]:
    """The journal's `timings` block."""
    return {
        "started_at": _ms(t.started_at),
        "injected_at": _ms(t.injected_at),
        "detected_at": _ms(t.detected_at),
        "remediated_at": _ms(t.remediated_at),
        "rolled_back_at": _ms(t.rolled_back_at),
        "ended_at": _ms(t.ended_at),
        "injection_ms": t.injection_ms,
        "time_to_detect_ms": t.time_to_detect_ms,
        "time_to_remediate_ms": t.time_to_remediate_ms,
    }


def write_journal(path: Path, journal: dict[str, Any], redactor: Redactor) -> None:
    """Write the journal atomically, with every secret redacted."""
    text = json.dumps(redactor.data(journal), indent=2, default=str)
    write_text_atomic(path, redactor.text(text) + "\n")


def run_row(result: RunResult) -> dict[str, Any]:
    """The run's experiment_runs row (times naive UTC)."""
    t = result.timings

    def naive(value: Any) -> Any:
        return None if value is None else value.replace(tzinfo=None)

    return {
        "run_id": result.run_id,
        "experiment": result.title,
        "name": result.name,
        "fault": result.fault,
        "technique": result.technique,
        "started_at": naive(t.started_at),
        "injected_at": naive(t.injected_at),
        "detected_at": naive(t.detected_at),
        "remediated_at": naive(t.remediated_at),
        "rolled_back_at": naive(t.rolled_back_at),
        "outcome": result.verdict,
        "journal": str(result.journal),
    }


def record_run(store_path: Path, result: RunResult) -> None:
    """Append the run to experiment_runs.

    Raises:
        StoreError: the store cannot be opened for writing (another process holds it).
    """
    row = run_row(result)
    with open_store(store_path) as store, store.transaction() as conn:
        run(
            conn,
            f"INSERT INTO experiment_runs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
