"""The run's clock: wall-clock times at millisecond resolution, with durations measured on the monotonic clock.

The clock reads the wall clock once, when the run starts, and derives every later time from time.monotonic,
so a wall-clock step (NTP, DST, an operator) during a run changes no duration, and every recorded time is
consistent with every other.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "iso_ms"]


def iso_ms(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z: 2026-11-23T10:00:00.123Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Clock:
    """Wall-clock time anchored once, advanced by the monotonic clock."""

    def __init__(self) -> None:
        self._wall = datetime.now(UTC)
        self._mono = time.monotonic()

    def monotonic(self) -> float:
        """Seconds on the monotonic clock (for deadlines and durations)."""
        return time.monotonic()

    def at(self, mono: float) -> datetime:
        """The UTC wall-clock time of a monotonic reading, truncated to the millisecond."""
        moment = self._wall + timedelta(seconds=mono - self._mono)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def now(self) -> datetime:
        """The current UTC time, to the millisecond."""
        return self.at(time.monotonic())
