"""Durations as experiment files write them: "250ms", "10s", "5m", "1h30m", or a number of seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["Seconds", "parse_seconds"]

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_LONGEST = 36500 * 86400.0
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_seconds(value: object) -> float:
    """A duration in seconds from a number or text such as "250ms", "10s", "5m" or "1h30m".

    Raises:
        ValueError: the value is not a duration, is negative, or is longer than 100 years (or NaN).
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as '10s'")  # noqa: TRY004
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration such as '250ms', '10s', '5m' or '1h30m'")
        seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    else:
        raise ValueError("a duration is a number of seconds or text such as '10s'")  # noqa: TRY004
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    # NaN and infinity are YAML numbers (.nan, .inf), and a sleep or deadline that long raises OverflowError
    # in the middle of a run, with a fault injected.
    if not seconds <= _LONGEST:
        raise ValueError(f"a duration must be at most 36500d (100 years), got {value!r}")
    return seconds


Seconds = Annotated[float, BeforeValidator(parse_seconds)]
"""A pydantic field type: seconds, written as a number or as text with units."""
