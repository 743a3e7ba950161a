"""Continuous mode: run an experiment every interval (plus random jitter) until stopped.

Between runs nothing is injected, so SIGINT or SIGTERM while waiting simply ends the loop. During a run the
run's own guard applies: rollback first, then the loop ends.
"""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Callable, Iterator

from seclo.experiments.result import RunResult

__all__ = ["next_delay", "run_every"]


def next_delay(every: float, jitter: float, rng: random.Random) -> float:
    """Seconds until the next run: the interval plus a uniform random jitter in [0, jitter]."""
    return every + (rng.uniform(0.0, jitter) if jitter > 0 else 0.0)


def run_every(
    run_once: Callable[[threading.Event], RunResult],
    every: float,
    jitter: float = 0.0,
    *,
    rng: random.Random | None = None,
) -> Iterator[RunResult]:
    """Yield the result of each run, until a signal arrives while waiting, or a run is interrupted or leaves
    something it could not roll back, or a target edited meanwhile that a person must merge (injecting again
    on top of either would not be a controlled experiment).

    `run_once` gets the loop's stop event: a signal that arrives while it plans, before the run's own guard
    is in place, only sets the event, so the run must check it (`run_plan(..., stop=...)` does).
    """
    rng = rng or random.SystemRandom()
    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.is_set():
            result = run_once(stop)
            yield result
            if result.interrupted or not result.restored or result.conflict:
                return
            stop.wait(next_delay(every, jitter, rng))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
