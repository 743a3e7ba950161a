"""The retry timer: a failed occurrence runs again when its backoff expires, without waiting to be seen again.

A failed run does not burn its occurrence (seclo.playbooks.claims): attempt n + 1 is allowed `backoff x 2^(n-1)`
after attempt n failed. Seen again, the occurrence runs then; but an Alertmanager alert comes back only after its
repeat_interval (often 4 h) and a schedule's slot never does, so a long-running process (`seclo serve`, `seclo
playbook listen`) keeps a timer: each failed run whose attempts are not exhausted is due at its backoff, and the
engine itself runs the occurrence again then, with the trigger context the failed run had.

The timer only says when; whether the attempt may run is decided by the engine under its lock, as for any
sighting: the claim refuses an attempt while another one runs, and an attempt the trigger already started (seen
again before the timer) is not started twice. A one-shot command (`seclo playbook run`) has no timer: it ends
before any backoff. On close, pending retries are dropped (logged); the occurrence runs at its next sighting.

Time is the engine's clock: a retry fires once `clock()` has reached its due time. The timer waits in real time
for at most `poll` seconds between looks at the clock, and `wake()` makes it look at once (tests that move a
pinned clock call it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

__all__ = ["PendingRetry", "RetryTimer"]

log = logging.getLogger("seclo.playbooks")


@dataclass(frozen=True, slots=True)
class PendingRetry:
    """One occurrence waiting for its next attempt.

    Attributes:
        key: `playbook:occurrence`.
        failed_attempt: the attempt that failed (the retry is attempt `failed_attempt + 1`).
        due: when the retry may run (the engine's clock, naive UTC).
    """

    key: str
    failed_attempt: int
    due: datetime


class RetryTimer:
    """Runs each scheduled retry once its due time has come, on its own worker threads.

    Args:
        clock: the engine's clock (naive UTC).
        workers: retries that may run at once.
        poll: the longest real-time wait, in seconds, between two looks at the clock.
    """

    def __init__(self, clock: Callable[[], datetime], *, workers: int = 4, poll: float = 1.0) -> None:
        self._clock = clock
        self._poll = poll
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[PendingRetry, Callable[[], object]]] = {}
        self._running = 0
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seclo-playbook-retry")
        self._thread = threading.Thread(target=self._loop, name="seclo-playbook-retries", daemon=True)
        self._thread.start()

    def schedule(self, retry: PendingRetry, action: Callable[[], object]) -> None:
        """Call `action` on a worker once `retry.due` has come; it replaces a retry of an earlier attempt pending
        for the same key."""
        with self._cond:
            waiting = self._pending.get(retry.key)
            if self._stopped or (waiting is not None and waiting[0].failed_attempt > retry.failed_attempt):
                return
            self._pending[retry.key] = (retry, action)
            self._cond.notify()

    def pending(self) -> list[PendingRetry]:
        """The retries not yet due, earliest first."""
        with self._cond:
            return sorted((p for p, _ in self._pending.values()), key=lambda p: p.due)

    def busy(self) -> bool:
        """Whether a retry is pending or running (a running retry that fails schedules the next one first)."""
        with self._cond:
            return bool(self._pending) or self._running > 0

    def wake(self) -> None:
        """Look at the clock now (after a pinned clock was moved)."""
        with self._cond:
            self._cond.notify()

    def _loop(self) -> None:
        with self._cond:
            while not self._stopped:
                now = self._clock()
                # Pending retries are few (one per failed occurrence): a scan is simpler than a heap.
                for key in [k for k, (p, _) in self._pending.items() if p.due <= now]:
                    retry, action = self._pending.pop(key)
                    self._running += 1
                    self._pool.submit(self._fire, retry, action)
                upcoming = min((p.due for p, _ in self._pending.values()), default=None)
                if upcoming is None:
                    self._cond.wait()
                else:
                    self._cond.wait(min(self._poll, max((upcoming - now).total_seconds(), 0.0)))

    def _fire(self, retry: PendingRetry, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # the worker must not die from one retry: log it, the others still run
            # No key in the log: an occurrence's key may hold a label's value.
            log.exception("a playbook retry (attempt %d) failed unexpectedly", retry.failed_attempt + 1)
        finally:
            with self._cond:
                self._running -= 1

    def close(self) -> None:
        """Drop the pending retries (their occurrences run when seen again) and wait for the running ones."""
        with self._cond:
            self._stopped = True
            dropped = len(self._pending)
            self._pending.clear()
            self._cond.notify()
        self._thread.join()
        self._pool.shutdown(wait=True)
        if dropped:
            log.info(
                "%d pending playbook retries dropped; each runs when its occurrence is seen again", dropped
            )
