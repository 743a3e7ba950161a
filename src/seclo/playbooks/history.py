"""How often each playbook ran, and in which mode: the evidence for "automate it the second time"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seclo.store import Store

__all__ = ["ModeHistory", "RunRow", "mode_history", "recent_runs"]


@dataclass(frozen=True, slots=True)
class ModeHistory:
    """Runs of one playbook in one mode."""

    playbook: str
    mode: str
    runs: int
    succeeded: int
    failed: int
    waiting: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run."""

    run_id: str
    playbook: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    occurrence: str
    failed_step: str | None
    error: str | None


def mode_history(store: Store) -> tuple[ModeHistory, ...]:
    """Per playbook and mode: run counts by status and the first and last start."""
    rows = store.conn.execute(
        """SELECT playbook, "mode", count(*), count(*) FILTER (WHERE status = 'succeeded'),
                  count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'waiting_approval'),
                  min(started_at), max(started_at)
           FROM playbook_runs GROUP BY ALL ORDER BY playbook, min(started_at)"""
    ).fetchall()
    return tuple(ModeHistory(*row) for row in rows)


def recent_runs(store: Store, playbook: str | None = None, limit: int = 20) -> tuple[RunRow, ...]:
    """The latest runs, newest first (of one playbook when given)."""
    rows = store.conn.execute(
        """SELECT run_id, playbook, "mode", status, started_at, finished_at, occurrence, failed_step, error
           FROM playbook_runs WHERE ? IS NULL OR playbook = ? ORDER BY started_at DESC LIMIT ?""",
        [playbook, playbook, limit],
    ).fetchall()
    return tuple(RunRow(*row) for row in rows)
