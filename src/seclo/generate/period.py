"""The period a generated organisation covers; times are integer microseconds since the epoch (naive UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

__all__ = [
    "NEVER",
    "US_PER_DAY",
    "US_PER_HOUR",
    "US_PER_MINUTE",
    "Period",
    "from_datetime",
    "to_datetime",
]

US_PER_MINUTE = 60_000_000
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR
NEVER = int(np.iinfo(np.int64).max)  # the time of something that has not happened

_EPOCH = datetime(1970, 1, 1)


def from_datetime(moment: datetime) -> int:
    """Microseconds since the epoch; a naive `moment` is taken as UTC, an aware one is converted."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def to_datetime(us: int) -> datetime:
    """The naive UTC datetime `us` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval [start, end) of whole days, in microseconds since the epoch.

    Attributes:
        start_us: first instant covered.
        end_us: the instant the data ends ("now" for a demo).
    """

    start_us: int
    end_us: int

    @classmethod
    def ending(cls, end: datetime, days: int) -> Period:
        """The `days` whole days that end at `end`."""
        end_us = from_datetime(end)
        return cls(start_us=end_us - days * US_PER_DAY, end_us=end_us)

    @property
    def days(self) -> int:
        """Length in whole days."""
        return (self.end_us - self.start_us) // US_PER_DAY

    def snapshots(self, every_days: int, hour: int) -> npt.NDArray[np.int64]:
        """Inventory times at `hour`:00 UTC every `every_days` days, counted back from the last one before end.

        Anchoring on the end guarantees at least one snapshot, however short the period.
        """
        last = self.end_us - self.end_us % US_PER_DAY + hour * US_PER_HOUR
        if last > self.end_us:
            last -= US_PER_DAY
        step = every_days * US_PER_DAY
        count = (last - self.start_us) // step + 1
        return np.asarray(last - step * np.arange(count - 1, -1, -1, dtype=np.int64), dtype=np.int64)
