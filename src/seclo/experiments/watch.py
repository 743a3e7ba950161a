"""Polling a detection or remediation probe with backoff until it succeeds or its deadline passes.

The time of detection is when the first successful check returned; the previous, failed check bounds it from
below, so the precision of a measured detection time is the polling interval at that moment (at most
`poll.max`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from seclo.experiments.activities import ActivityRun
from seclo.experiments.clock import Clock
from seclo.experiments.model import Backoff

__all__ = ["WatchOutcome", "poll_until"]


@dataclass(frozen=True, slots=True)
class WatchOutcome:
    """How a watched probe went.

    Attributes:
        seen: monotonic time the condition was first seen, or None when the deadline passed first.
        last_miss: monotonic time the last check that did not see it started (None if the first one did).
        polls: checks made.
        last: the last check's record.
    """

    seen: float | None
    last_miss: float | None
    polls: int
    last: ActivityRun | None


def poll_until(
    check: Callable[[], ActivityRun], clock: Clock, deadline: float, backoff: Backoff, stop: threading.Event
) -> WatchOutcome:
    """Call `check` until it succeeds, `deadline` (monotonic) passes, or `stop` is set.

    One check is always made, even past the deadline, so a condition already true is seen.
    """
    interval = backoff.initial
    polls = 0
    last_miss: float | None = None
    last: ActivityRun | None = None
    while True:
        began = clock.monotonic()
        last = check()
        polls += 1
        if last.tolerance_met:
            return WatchOutcome(clock.monotonic(), last_miss, polls, last)
        last_miss = began
        left = deadline - clock.monotonic()
        if left <= 0 or stop.is_set():
            return WatchOutcome(None, last_miss, polls, last)
        if stop.wait(min(interval, left)):
            return WatchOutcome(None, last_miss, polls, last)
        interval = min(interval * backoff.factor, backoff.max)
