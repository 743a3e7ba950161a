"""Burn rates over trailing windows: how fast the error budget is being spent.

A burn rate is the error ratio over a window divided by the error ratio the objective allows, 1 - target
(SRE Workbook, "Alerting on SLOs"). At a burn rate of 1 the budget lasts exactly the period. Window sums
come from cumulative sums, so any number of windows, or a window ending at every slice, costs one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt

__all__ = [
    "BURN_RATE_WINDOWS",
    "BurnRate",
    "burn_rate",
    "cumulative",
    "slices_in",
    "trailing_burn_rates",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# The windows of the SRE Workbook's multi-window, multi-burn-rate alerts (table 5-8, plus 1d/2h).
BURN_RATE_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("5m", timedelta(minutes=5)),
    ("30m", timedelta(minutes=30)),
    ("1h", timedelta(hours=1)),
    ("2h", timedelta(hours=2)),
    ("6h", timedelta(hours=6)),
    ("1d", timedelta(days=1)),
    ("3d", timedelta(days=3)),
)


@dataclass(frozen=True, slots=True)
class BurnRate:
    """The burn rate over one trailing window ending at the evaluation time.

    Attributes:
        name: the window's short name ("1h").
        window: the window's length.
        measured: the span actually measured, a whole number of slices (at least one slice).
        rate: error ratio over the window / (1 - target); NaN when the window holds no data.
    """

    name: str
    window: timedelta
    measured: timedelta
    rate: float


def cumulative(values: Floats) -> Floats:
    """Cumulative sums with a leading 0, so the sum of values[i:j] is c[j] - c[i]."""
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


def slices_in(window: timedelta, step: timedelta) -> int:
    """Whole slices a window covers: ceil(window / step), and at least one.

    A window shorter than a slice (5m over hourly slices) is measured over the last complete slice.
    """
    return max(1, -(-window // step))


def burn_rate(weight: Floats | float, bad: Floats | float, target: float) -> Floats:
    """Error ratio bad/weight divided by (1 - target), NaN where the weight is 0; works element-wise."""
    w = np.asarray(weight, dtype=np.float64)
    b = np.asarray(bad, dtype=np.float64)
    ratio = np.divide(b, w, out=np.full(np.broadcast(w, b).shape, np.nan), where=w > 0)
    rate: Floats = ratio / (1.0 - target)
    return rate


def trailing_burn_rates(
    cum_weight: Floats, cum_bad: Floats, ends: Ints, slices: int, target: float
) -> Floats:
    """Burn rates over the `slices` slices before each index in `ends`.

    An end index may lie past the series (evaluating after its last slice); the window is then cut to the
    slices that exist, and is empty (NaN) when none do.
    """
    last = cum_weight.size - 1
    starts, stops = np.clip(ends - slices, 0, last), np.clip(ends, 0, last)
    return burn_rate(cum_weight[stops] - cum_weight[starts], cum_bad[stops] - cum_bad[starts], target)
