"""Calibration from history: a Poisson rate and a lognormal severity fitted to the incidents table.

Maximum likelihood: the rate is events / years observed, with the exact (Garwood) interval from the chi-square
distribution; the lognormal's meanlog is the mean of ln(loss) and its sdlog the root mean square deviation
(the MLE, divisor n), with a t interval for meanlog and a chi-square interval for sdlog. Only incidents
with a recorded loss above zero are loss events; the others are counted and reported, not fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from seclo.errors import InputError
from seclo.store import Store

__all__ = ["Calibration", "calibrate", "scenario_yaml"]

YEAR = timedelta(days=365.25)


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted frequency and severity with their 95% confidence intervals."""

    kind: str
    events: int
    without_loss: int
    years: float
    rate: float
    rate_interval: tuple[float, float]
    meanlog: float
    meanlog_interval: tuple[float, float]
    sdlog: float
    sdlog_interval: tuple[float, float]
    start: datetime
    end: datetime


def calibrate(
    store: Store, kind: str, start: datetime | None = None, end: datetime | None = None
) -> Calibration:
    """Fit the incidents of `kind` that occurred in [start, end) (default: the first incident to now).

    Raises:
        InputError: fewer than two loss events to fit, or an empty period.
    """
    from scipy import stats  # noqa: PLC0415 - scipy loads slowly; only calibration needs it here

    where = (
        "kind = $kind AND occurred_at >= coalesce($start, occurred_at)"
        " AND occurred_at < coalesce($end, TIMESTAMP '9999-01-01')"
    )
    bounds = {"kind": kind, "start": start, "end": end}
    total, earliest = store.conn.execute(
        f"SELECT count(*), min(occurred_at) FROM incidents WHERE {where}", bounds
    ).fetchall()[0]
    rows = store.conn.execute(f"SELECT loss FROM incidents WHERE {where} AND loss > 0", bounds).fetchnumpy()
    positive = np.asarray(rows["loss"], dtype=np.float64)
    n = int(positive.size)
    if n < 2:
        raise InputError(
            f"only {n} {kind} incident(s) with a recorded loss; a fit needs at least 2",
            tip="Import incidents with a loss column (docs/data-model.md), or widen the period.",
        )
    first = start or earliest
    last = end or datetime.now()
    years = (last - first) / YEAR
    if years <= 0:
        raise InputError("the calibration period is empty")
    logs = np.log(positive)
    meanlog = float(logs.mean())
    sdlog = float(math.sqrt(((logs - meanlog) ** 2).mean()))
    t = float(stats.t.ppf(0.975, n - 1))
    s = float(logs.std(ddof=1))
    chi_low, chi_high = stats.chi2.ppf([0.975, 0.025], n - 1)
    rate_low = float(stats.chi2.ppf(0.025, 2 * n) / 2 / years)
    rate_high = float(stats.chi2.ppf(0.975, 2 * n + 2) / 2 / years)
    return Calibration(
        kind=kind,
        events=n,
        without_loss=int(total) - n,
        years=years,
        rate=n / years,
        rate_interval=(rate_low, rate_high),
        meanlog=meanlog,
        meanlog_interval=(meanlog - t * s / math.sqrt(n), meanlog + t * s / math.sqrt(n)),
        sdlog=sdlog,
        sdlog_interval=(
            float(math.sqrt(n * sdlog**2 / chi_low)),
            float(math.sqrt(n * sdlog**2 / chi_high)),
        ),
        start=first,
        end=last,
    )


def scenario_yaml(name: str, fit: Calibration) -> str:
    """A RiskScenario file for the fit, with its intervals as comments."""
    category = fit.kind if fit.kind in ("security", "outage") else "other"
    return f"""\
# Fitted by `seclo risk calibrate` from {fit.events} {fit.kind} incidents with a recorded loss between
# {fit.start:%Y-%m-%d} and {fit.end:%Y-%m-%d} ({fit.years:.2f} years); {fit.without_loss} without a loss were left out.
# 95% intervals: rate {fit.rate_interval[0]:.4g} to {fit.rate_interval[1]:.4g} per year; meanlog
# {fit.meanlog_interval[0]:.4f} to {fit.meanlog_interval[1]:.4f}; sdlog {fit.sdlog_interval[0]:.4f} to {fit.sdlog_interval[1]:.4f}.
apiVersion: seclo/v1
kind: RiskScenario
metadata:
  name: {name}
spec:
  category: {category}
  frequency:
    rate: {fit.rate:.6g}
  severity:
    meanlog: {fit.meanlog:.6f}
    sdlog: {fit.sdlog:.6f}
"""
