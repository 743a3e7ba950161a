"""Durations in playbook files: a positive number and a unit, such as `500ms`, `30s`, `5m`, `1h` or `7d`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["Span", "parse_span"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)")


def parse_span(value: object) -> timedelta:
    """Parse `30s`-style text (or a timedelta, or seconds as a number) into a positive timedelta."""
    if isinstance(value, timedelta):
        span = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        span = timedelta(seconds=value)
    elif isinstance(value, str) and (match := _PATTERN.fullmatch(value.strip())):
        span = timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    else:
        raise ValueError(f"expected a duration such as 500ms, 30s, 5m, 1h or 7d, got {value!r}")
    if span <= timedelta(0):
        raise ValueError(f"a duration must be positive, got {value!r}")
    return span


Span = Annotated[
    timedelta,
    BeforeValidator(parse_span),
    PlainSerializer(lambda v: f"{v.total_seconds():g}s", return_type=str),
]
