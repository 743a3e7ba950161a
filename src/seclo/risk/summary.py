"""What a distribution of simulated annual losses says: statistics, exceedance curve, analytic cross-checks.

The cross-checks hold for the uncapped Poisson-lognormal model (mixtures keep the mean rate, so the mean
check holds for them too): E[annual loss] = rate * exp(mu + sigma^2 / 2), and P(at least one event) =
1 - P(no event). The simulated mean is compared in units of its Monte Carlo standard error.

A heavy tail makes the sample mean unstable: its relative standard error is about
sqrt(rate * E[X^2] / runs) / mean = exp(sigma^2 / 2) / sqrt(rate * runs). With IRIS's sigma of 3.07 and a
rate of 0.138 that is 95% at 100,000 runs. A warning says so, with the runs a 5% error would take.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from seclo.risk.distributions import Frequency, Lognormal

__all__ = [
    "RETURN_PERIODS",
    "AnalyticCheck",
    "Exceedance",
    "LossSummary",
    "analytic_check",
    "exceedance_curve",
    "summarise",
]

Floats = npt.NDArray[np.float64]
RETURN_PERIODS = (10, 20, 50, 100, 250)
# Above this relative standard error of the mean a warning is given.
MEAN_RSE_WARNING = 0.05


@dataclass(frozen=True, slots=True)
class Exceedance:
    """The loss exceedance curve: P(annual loss > loss[i]) = probability[i], on a log grid of losses."""

    loss: Floats
    probability: Floats


@dataclass(frozen=True, slots=True)
class AnalyticCheck:
    """Simulation against the closed forms (None where no closed form applies, e.g. with a loss cap)."""

    mean: float | None
    mean_z: float | None
    p_event: float
    p_event_simulated: float
    mean_relative_error: float | None
    warning: str | None


@dataclass(frozen=True, slots=True)
class LossSummary:
    """Statistics of simulated annual losses.

    Attributes:
        runs: simulated years.
        mean, std_error: the mean annual loss and its Monte Carlo standard error.
        median, p90, p95, p99: quantiles of the annual loss.
        var95, var99: value at risk: the 95th and 99th percentile annual loss.
        tvar95, tvar99: tail value at risk: the mean annual loss in the worst 5% and 1% of years.
        p_no_loss: share of years without any loss.
        return_levels: years T -> the annual loss exceeded once in T years on average (the 1 - 1/T quantile).
        maximum: the worst simulated year.
    """

    runs: int
    mean: float
    std_error: float
    median: float
    p90: float
    p95: float
    p99: float
    var95: float
    var99: float
    tvar95: float
    tvar99: float
    p_no_loss: float
    return_levels: dict[int, float]
    maximum: float


def _tail_mean(ordered: Floats, q: float) -> float:
    start = min(math.floor(q * ordered.size), ordered.size - 1)
    return float(ordered[start:].mean())


def _quantiles(ordered: Floats, qs: Sequence[float]) -> list[float]:
    """Quantiles of sorted values with linear interpolation (numpy's default method), without re-sorting."""
    position = np.asarray(qs) * (ordered.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, ordered.size - 1)
    values = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return [float(v) for v in values]


def summarise(losses: Floats, ordered: Floats | None = None) -> LossSummary:
    """The statistics of `losses` (one entry per simulated year); `ordered` is them sorted, if at hand."""
    ordered = np.sort(losses) if ordered is None else ordered
    runs = ordered.size
    levels = [1 - 1 / t for t in RETURN_PERIODS]
    values = _quantiles(ordered, [0.5, 0.9, 0.95, 0.99, *levels])
    quantile = dict(zip((0.5, 0.9, 0.95, 0.99), values[:4], strict=True))
    return LossSummary(
        runs=runs,
        mean=float(ordered.mean()),
        std_error=float(ordered.std(ddof=1) / math.sqrt(runs)) if runs > 1 else math.nan,
        median=quantile[0.5],
        p90=quantile[0.9],
        p95=quantile[0.95],
        p99=quantile[0.99],
        var95=quantile[0.95],
        var99=quantile[0.99],
        tvar95=_tail_mean(ordered, 0.95),
        tvar99=_tail_mean(ordered, 0.99),
        p_no_loss=float(np.count_nonzero(ordered <= 0) / runs),
        return_levels=dict(zip(RETURN_PERIODS, values[4:], strict=True)),
        maximum=float(ordered[-1]),
    )


def exceedance_curve(losses: Floats, points: int = 200, ordered: Floats | None = None) -> Exceedance:
    """P(annual loss > x) on a log grid from the smallest positive loss to the largest."""
    ordered = np.sort(losses) if ordered is None else ordered
    positive = ordered[ordered > 0]
    if positive.size == 0:
        return Exceedance(np.zeros(0), np.zeros(0))
    grid = np.geomspace(positive[0], positive[-1], points)
    above = ordered.size - np.searchsorted(ordered, grid, side="right")
    return Exceedance(grid, above / ordered.size)


def analytic_check(
    frequency: Frequency, severity: Lognormal, losses: Floats, events: npt.NDArray[np.int64]
) -> AnalyticCheck:
    """Compare the simulation of one variant (its frequency and severity) with the closed forms, and warn
    when the tail makes the mean unstable."""
    runs = losses.size
    p_event = 1 - frequency.p_no_event
    simulated_p = float(np.count_nonzero(events) / runs)
    if frequency.rate <= 0:
        return AnalyticCheck(0.0, None, 0.0, simulated_p, None, None)
    # Var(annual) for a compound Poisson is rate * E[X^2]; mixtures add Var(rate) * E[X]^2.
    variance = (
        frequency.rate * severity.second_moment
        + (frequency.count_variance - frequency.rate) * severity.mean**2
    )
    mean = frequency.rate * severity.mean
    rse = math.sqrt(variance / runs) / mean
    warning = None
    if rse > MEAN_RSE_WARNING:
        needed = variance / (MEAN_RSE_WARNING * mean) ** 2
        warning = (
            f"heavy tail: the mean of {runs:,} runs has a relative standard error of about {rse:.0%}; "
            f"about {needed:,.0f} runs would bring it to 5%. Quantiles are far more stable than the mean."
        )
    if severity.cap is not None:
        return AnalyticCheck(None, None, p_event, simulated_p, rse, warning)
    std_error = float(losses.std(ddof=1) / math.sqrt(runs)) if runs > 1 else math.nan
    z = (float(losses.mean()) - mean) / std_error if std_error > 0 else None
    return AnalyticCheck(mean, z, p_event, simulated_p, rse, warning)
