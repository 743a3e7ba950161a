"""Durations in playbook files: a positive number and a unit, such as `500ms`, `30s`, `5m`, `1h` or `7d`.

At most `LONGEST` (100 years): a run adds these to the current time (`approval_timeout`, a retry's backoff,
a rate limit's window), and a longer one (`99999999d`) would overflow the calendar at that moment, in a
worker thread, long after the file was loaded.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["LONGEST", "Span", "parse_span"]

LONGEST = timedelta(days=36500)

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)")


def parse_span(value: object) -> timedelta:
    """Parse `30s`-style text (or a timedelta, or seconds as a number) into a positive timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _PATTERN.fullmatch(value.strip())):
        seconds = float(match[1]) * _UNITS[match[2]]
    else:
        raise ValueError(f"expected a duration such as 500ms, 30s, 5m, 1h or 7d, got {value!r}")
    if not seconds > 0:  # NaN included
        raise ValueError(f"a duration must be positive, got {value!r}")
    if not seconds <= LONGEST.total_seconds():  # infinity included
        raise ValueError(f"a duration must be at most 36500d (100 years), got {value!r}")
    return timedelta(seconds=seconds)


Span = Annotated[
    timedelta,
    BeforeValidator(parse_span),
    PlainSerializer(lambda v: f"{v.total_seconds():g}s", return_type=str),
]
