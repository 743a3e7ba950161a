"""Claimed occurrences: which trigger occurrences a playbook has run, and whether a failed one may run again.

A playbook runs an occurrence at most once at a time, and a run that succeeded (or waits, or expired) ends the
matter. A run that failed does not burn its occurrence: the next time the occurrence is seen (the next
evaluation, Alertmanager's repeat of a firing alert, `seclo playbook run` again) it runs again once the
playbook's backoff has passed, up to `retry.attempts` runs in all, as a pager retries a failed delivery: attempt
n + 1 is due `backoff x 2^(n - 1)` after attempt n failed (30 s, 1 m, 2 m... by default).

Each attempt is one playbook_runs row. Its idempotency key is `playbook:occurrence` for the first attempt and
`playbook:occurrence#N` for attempt N, so the UNIQUE key still refuses a second process's claim of the same
attempt. A run whose claim was refused (another process ran that attempt) is never retried here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seclo.playbooks.durations import LONGEST
from seclo.store import Store

__all__ = ["Claim", "Claims", "attempt_key"]


def _pause(backoff: timedelta, failed: int) -> timedelta:
    """How long after attempt `failed` failed the next may start: the backoff, doubled after each attempt.

    At most LONGEST: with 20 attempts even a 30d backoff doubles past what a datetime holds, and this runs in
    the webhook's worker thread.
    """
    return timedelta(seconds=min(backoff.total_seconds() * 2.0 ** (failed - 1), LONGEST.total_seconds()))


def _later(moment: datetime, pause: timedelta) -> datetime:
    """`moment + pause`, or the calendar's end when that is past it."""
    try:
        return moment + pause
    except OverflowError:
        return datetime.max.replace(tzinfo=moment.tzinfo)


def attempt_key(key: str, attempt: int) -> str:
    """The idempotency key of attempt `attempt` (from 1) of the occurrence `key` (`playbook:occurrence`)."""
    return key if attempt == 1 else f"{key}#{attempt}"


@dataclass(slots=True)
class Claim:
    """The latest attempt at one occurrence.

    Attributes:
        attempts: runs started for the occurrence so far.
        status: the latest run's status (running, waiting_approval, succeeded, failed, expired).
        finished_at: when the latest run ended (None while it runs or waits).
        run_id: the latest run (None when loaded from the store: it was not this process's).
    """

    attempts: int
    status: str
    finished_at: datetime | None
    run_id: str | None = None


class Claims:
    """The claimed occurrences of every playbook, in memory (the engine guards it with its lock)."""

    def __init__(self, claims: dict[str, Claim] | None = None) -> None:
        self._claims: dict[str, Claim] = claims or {}

    @classmethod
    def load(cls, store: Store) -> Claims:
        """Each occurrence's attempts so far and the state of its latest run."""
        rows = store.conn.execute(
            "SELECT playbook || ':' || occurrence, count(*), arg_max(status, started_at), "
            "arg_max(finished_at, started_at) FROM playbook_runs GROUP BY ALL"
        ).fetchall()
        return cls({key: Claim(int(n), str(status), finished) for key, n, status, finished in rows})

    def __contains__(self, key: object) -> bool:
        return key in self._claims

    def refusal(
        self, key: str, occurrence: str, attempts: int, backoff: timedelta, now: datetime, *, lost: bool
    ) -> str | None:
        """Why the occurrence `key` may not run now, or None when it may (never claimed, or due for a retry).

        Args:
            key: `playbook:occurrence`.
            occurrence: the occurrence's key, for the message.
            attempts: how many runs the playbook allows per occurrence.
            backoff: the pause after the first failed attempt (doubled after each further one).
            now: the current time.
            lost: the latest run's claim was refused (another process ran that attempt).
        """
        claim = self._claims.get(key)
        if claim is None:
            return None
        if claim.status != "failed" or lost:
            return f"already ran for {occurrence}"
        if claim.attempts >= attempts:
            return f"already ran for {occurrence}: {claim.attempts} attempts failed, the playbook allows {attempts}"
        due = _later(claim.finished_at or now, _pause(backoff, claim.attempts))
        if now < due:
            return (
                f"attempt {claim.attempts} for {occurrence} failed; the next is due at "
                f"{due:%Y-%m-%d %H:%M:%S} UTC"
            )
        return None

    def next_attempt(self, key: str, attempts: int, backoff: timedelta) -> tuple[int, datetime] | None:
        """The failed attempt and when the next one is due, or None (not failed, or no attempt left)."""
        claim = self._claims.get(key)
        if (
            claim is None
            or claim.status != "failed"
            or claim.finished_at is None
            or claim.attempts >= attempts
        ):
            return None
        return claim.attempts, _later(claim.finished_at, _pause(backoff, claim.attempts))

    def failed_last(self, key: str, attempt: int) -> bool:
        """Whether `attempt` is still the latest attempt at `key`, and it failed (a retry of it is not stale)."""
        claim = self._claims.get(key)
        return claim is not None and claim.attempts == attempt and claim.status == "failed"

    def latest_run(self, key: str) -> str | None:
        """The run id of the latest attempt this process started, if any."""
        claim = self._claims.get(key)
        return None if claim is None else claim.run_id

    def take(self, key: str, run_id: str) -> int:
        """Claim the next attempt at `key` for `run_id`; returns its number (from 1)."""
        claim = self._claims.get(key)
        attempt = 1 if claim is None else claim.attempts + 1
        self._claims[key] = Claim(attempt, "running", None, run_id)
        return attempt

    def update(self, key: str, status: str, finished_at: datetime | None = None) -> None:
        """Note the latest run's new status."""
        claim = self._claims.get(key)
        if claim is not None:
            claim.status, claim.finished_at = status, finished_at
