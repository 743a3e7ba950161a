"""OpenSLO's duration shorthand: a positive integer and a one-letter unit, such as `28d`, `5m` or `1M`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, cast

__all__ = ["CALENDAR_UNITS", "Duration", "DurationUnit", "parse_duration"]

DurationUnit = Literal["m", "h", "d", "w", "M", "Q", "Y"]

# OpenSLO v1 "duration-shorthand": m minutes, h hours, d days, w weeks, M months, Q quarters, Y years.
# The unit is case sensitive: 1m is a minute and 1M a month.
_FIXED: dict[str, timedelta] = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_MONTHS: dict[str, int] = {"M": 1, "Q": 3, "Y": 12}
CALENDAR_UNITS = frozenset(_MONTHS)
# At most six digits, so that even 999999w stays far inside what timedelta holds.
_PATTERN = re.compile(r"([1-9][0-9]{0,5})([mhdwMQY])")


@dataclass(frozen=True, slots=True)
class Duration:
    """A count of one unit. Minutes to weeks have a fixed length; months, quarters and years follow the calendar."""

    count: int
    unit: DurationUnit

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def is_calendar(self) -> bool:
        """True for months, quarters and years, whose length depends on where they start."""
        return self.unit in CALENDAR_UNITS

    @property
    def months(self) -> int:
        """The length in calendar months (0 for fixed units)."""
        return self.count * _MONTHS.get(self.unit, 0)

    def to_timedelta(self) -> timedelta:
        """The fixed length. Raises ValueError for calendar units, which have none."""
        if self.is_calendar:
            raise ValueError(f"{self} is a calendar duration without a fixed length")
        return self.count * _FIXED[self.unit]


def parse_duration(text: str) -> Duration:
    """Parse `text` strictly: no spaces, no sign, no leading zero, no decimals, one known unit.

    Raises:
        ValueError: with a sentence saying what a duration looks like.
    """
    match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            "expected a duration such as 5m, 1h, 28d, 4w or 1M: a positive whole number (up to 6 digits) "
            "followed by one of m (minutes), h, d, w, M (months), Q (quarters), Y (years)"
        )
    return Duration(int(match.group(1)), cast(DurationUnit, match.group(2)))
