"""Incident KPIs: time to detect, acknowledge and repair, for security incidents and outages apart.

time to detect = occurred_at -> detected_at; time to acknowledge = detected_at -> acknowledged_at; time to
repair = detected_at -> resolved_at. Each is shown as a distribution ("study the whole range of outcomes"):
median, p90, mean, a lognormal fitted by maximum likelihood (meanlog = mean of ln t, sdlog = root mean square
deviation of ln t, divisor n) with a 95% interval for its median, a histogram on log-spaced bins, and the
median per month. Incidents that occurred in the window but have not reached the later stage by the
evaluation time are counted as `pending`, never silently dropped; durations of zero cannot be fitted on a log
scale and are counted in `zero`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from seclo.analytics.interface import Window
from seclo.errors import InputError
from seclo.store import Store

__all__ = ["KINDS", "MEASURES", "Distribution", "KpiResult", "Measure", "analyze_kpi", "lognormal_fit"]

Measure = Literal["time_to_detect", "time_to_acknowledge", "time_to_repair"]
MEASURES: dict[Measure, tuple[str, str]] = {
    "time_to_detect": ("occurred_at", "detected_at"),
    "time_to_acknowledge": ("detected_at", "acknowledged_at"),
    "time_to_repair": ("detected_at", "resolved_at"),
}
KINDS = ("security", "outage")
_Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Distribution:
    """One measure of one kind of incident, in minutes.

    Attributes:
        count: durations measured (above zero).
        pending: incidents in the window that have not reached the end stage by the evaluation time.
        zero: durations of exactly zero (left out of the fit and the histogram).
        meanlog, sdlog: the lognormal MLE; median_fit = exp(meanlog), with its 95% interval.
        bin_edges, bin_counts: histogram on log-spaced bins (edges in minutes).
        months, monthly_median, monthly_count: the trend by the month the incident occurred.
    """

    kind: str
    measure: Measure
    count: int
    pending: int
    zero: int
    median: float
    p90: float
    mean: float
    meanlog: float
    sdlog: float
    median_fit: float
    median_fit_interval: tuple[float, float]
    bin_edges: npt.NDArray[np.float64]
    bin_counts: npt.NDArray[np.int64]
    months: tuple[str, ...]
    monthly_median: npt.NDArray[np.float64]
    monthly_count: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class KpiResult:
    """Every distribution, security incidents first."""

    window: Window
    distributions: tuple[Distribution, ...]

    def get(self, kind: str, measure: Measure) -> Distribution:
        """The distribution of `measure` for `kind`."""
        return next(d for d in self.distributions if d.kind == kind and d.measure == measure)


def lognormal_fit(minutes: npt.NDArray[np.float64]) -> tuple[float, float, tuple[float, float]]:
    """Maximum-likelihood lognormal: (meanlog, sdlog, 95% interval of the median exp(meanlog))."""
    if minutes.size == 0:
        return math.nan, math.nan, (math.nan, math.nan)
    logs = np.log(minutes)
    meanlog = float(logs.mean())
    sdlog = float(np.sqrt(((logs - meanlog) ** 2).mean()))
    half = _Z95 * sdlog / math.sqrt(minutes.size)
    return meanlog, sdlog, (math.exp(meanlog - half), math.exp(meanlog + half))


def _histogram(minutes: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Counts on bins a quarter of a decade wide (log10), covering the data."""
    if minutes.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    low = math.floor(math.log10(minutes.min()) * 4) / 4
    high = math.ceil(math.log10(minutes.max()) * 4) / 4 + 0.25
    edges = 10.0 ** np.arange(low, high + 1e-9, 0.25)
    counts, _ = np.histogram(minutes, bins=edges)
    return edges, counts.astype(np.int64)


def _distribution(kind: str, measure: Measure, rows: dict[str, npt.NDArray[np.generic]]) -> Distribution:
    mask = (rows["kind"] == kind) & (rows["measure"] == measure)
    minutes = np.asarray(rows["minutes"][mask], dtype=np.float64)
    months = np.asarray(rows["month"][mask], dtype=object)
    reached = ~np.isnan(minutes)
    positive = reached & (minutes > 0)
    values = minutes[positive]
    meanlog, sdlog, interval = lognormal_fit(values)
    edges, counts = _histogram(values)
    month_keys = tuple(sorted(set(months[positive].tolist())))
    monthly = [values[months[positive] == m] for m in month_keys]
    return Distribution(
        kind=kind,
        measure=measure,
        count=int(values.size),
        pending=int((~reached).sum()),
        zero=int((reached & (minutes == 0)).sum()),
        median=float(np.median(values)) if values.size else math.nan,
        p90=float(np.quantile(values, 0.9)) if values.size else math.nan,
        mean=float(values.mean()) if values.size else math.nan,
        meanlog=meanlog,
        sdlog=sdlog,
        median_fit=math.exp(meanlog) if values.size else math.nan,
        median_fit_interval=interval,
        bin_edges=edges,
        bin_counts=counts,
        months=month_keys,
        monthly_median=np.array([float(np.median(v)) for v in monthly]),
        monthly_count=np.array([v.size for v in monthly], dtype=np.int64),
    )


def analyze_kpi(store: Store, window: Window) -> KpiResult:
    """The KPI distributions of incidents that occurred in `window`, as known at window.at.

    DuckDB computes each duration (one row per incident and measure); the incidents table is small (one row
    per incident), so numpy takes the quantiles, the fit and the histogram from there.

    Raises:
        InputError: no incident occurred in the window.
    """
    parts = " UNION ALL ".join(
        f"""SELECT kind, '{m}' AS measure, strftime(occurred_at, '%Y-%m') AS month,
       CASE WHEN {end} <= $at AND {start} IS NOT NULL
            THEN greatest(epoch_us({end}) - epoch_us({start}), 0) / 60e6 END AS minutes
FROM incidents WHERE occurred_at >= $since AND occurred_at < $at AND detected_at <= $at"""
        for m, (start, end) in MEASURES.items()
    )
    rows = store.conn.execute(parts, {"since": window.since, "at": window.at}).fetchnumpy()
    if len(rows["kind"]) == 0:
        raise InputError(
            f"no incidents detected between {window.since:%Y-%m-%d} and {window.at:%Y-%m-%d}",
            tip="Import incidents first, or widen the period with --days.",
        )
    data = {
        "kind": np.asarray(rows["kind"], dtype=object),
        "measure": np.asarray(rows["measure"], dtype=object),
        "month": np.asarray(rows["month"], dtype=object),
        "minutes": np.ma.filled(np.ma.asarray(rows["minutes"], dtype=np.float64), np.nan),
    }
    return KpiResult(window, tuple(_distribution(k, m, data) for k in KINDS for m in MEASURES))
