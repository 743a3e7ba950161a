"""What every analysis shares: the evaluation window, quantiles with intervals, and JSON document helpers.

Durations are measured in the store (DuckDB) and reach Python as small aggregated arrays: never one Python
object per finding, incident or deployment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "SCHEMA_PREFIX",
    "Quantile",
    "Window",
    "finite",
    "schema_name",
]

SCHEMA_PREFIX = "seclo.analytics"


def schema_name(analysis: str) -> str:
    """The versioned JSON schema name of an analysis (documented in docs/analytics.md)."""
    return f"{SCHEMA_PREFIX}.{analysis}/v1"


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open period [since, at) an analysis looks at; `at` is also the evaluation time ("now")."""

    since: datetime
    at: datetime

    @classmethod
    def ending(cls, at: datetime, days: float) -> Window:
        """The `days` before `at`."""
        return cls(at - timedelta(days=days), at)

    @property
    def days(self) -> float:
        """Length of the window in days."""
        return (self.at - self.since) / timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Quantile:
    """A time at which a share of items has finished, with its 95% confidence interval.

    Attributes:
        share: the share finished (0.5 for the median).
        value: the time, in the analysis's unit; inf when the share is never reached in the data.
        lower: lower end of the interval (inf when unknown).
        upper: upper end of the interval; inf when the data cannot bound it.
    """

    share: float
    value: float
    lower: float
    upper: float


def finite(value: float) -> float | None:
    """`value` for JSON: None for inf and NaN, which JSON cannot carry."""
    return None if math.isnan(value) or math.isinf(value) else float(value)
