"""Signals during a run: SIGINT, SIGTERM and the maximum-duration alarm stop the run, and rollback then runs.

While the guard is `stopping` is False, a signal raises RunStopped in the main thread wherever it is. Once
rollback has begun, signals are only remembered: a second Ctrl-C must not cut a rollback short.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

__all__ = ["RunStopped", "SignalGuard"]


class RunStopped(BaseException):
    """The run was interrupted by a signal, or ran past its maximum duration.

    A BaseException, like KeyboardInterrupt, so that `except Exception` in user code does not swallow it.
    """

    def __init__(self, reason: str, status: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class SignalGuard:
    """Installs the handlers (main thread only; elsewhere it does nothing) and the max-duration alarm."""

    def __init__(self, max_duration: float) -> None:
        self.max_duration = max_duration
        self.deferred: list[str] = []
        self._raising = True
        self._previous: dict[int, object] = {}
        self._active = threading.current_thread() is threading.main_thread()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGALRM:
            reason, status = f"the run exceeded its maximum duration of {self.max_duration:g} s", "aborted"
        else:
            reason, status = (
                f"interrupted by {_NAMES.get(signal.Signals(signum), str(signum))}",
                "interrupted",
            )
        if self._raising:
            self._raising = False
            raise RunStopped(reason, status)
        self.deferred.append(status)

    def rolling_back(self) -> None:
        """From now on, remember signals instead of raising; cancel the alarm."""
        self._raising = False
        if self._active:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def __enter__(self) -> SignalGuard:
        if self._active:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
                self._previous[signum] = signal.signal(signum, self._handle)
            signal.setitimer(signal.ITIMER_REAL, self.max_duration)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]
