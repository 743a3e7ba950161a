"""Evaluate an objective on an SLI series: state, attainment, error budget, burn rates and alerts.

Rules this module applies (docs and tests rely on them):

- Only complete slices count: a slice is in the period when it starts at or after the period's start and
  ends at or before the evaluation time, so evaluating at a past time never sees later data.
- Inventory snapshots: the state between two snapshots is the earlier snapshot's, so each snapshot's good
  and total are carried forward onto the following empty slices before any time-based maths. Slices before
  the first snapshot have no data. Occurrences over snapshots therefore sums item-slices: each slice counts
  the inventory as it stood, so a state held twice as long weighs twice as much, and the budget is in
  item-minutes (an account without MFA for a day spends 1440). A snapshot with 0 items cannot be told
  apart from "no snapshot here" and carries the previous one forward.
- A period without data is "no_data", never "met"; fewer than `min_events` events (for snapshots: fewer
  items in the latest snapshot) is "insufficient_data". Neither state fires alerts.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from seclo.errors import ConfigError
from seclo.sli.interface import SliSeries
from seclo.slo.alerting import (
    ALL_TIERS,
    AlertState,
    AlertWindow,
    PolicyCondition,
    Severity,
    alert_windows,
    condition_window,
    evaluate_alerts,
)
from seclo.slo.budget import Budgeting, BudgetUnit, ErrorBudget, error_budget, slice_weights, validate_target
from seclo.slo.burn_rate import (
    BURN_RATE_WINDOWS,
    BurnRate,
    burn_rate,
    cumulative,
    slices_in,
    trailing_burn_rates,
)

__all__ = [
    "BudgetHistory",
    "Months",
    "Period",
    "SloState",
    "SloStatus",
    "budget_history",
    "evaluate_objective",
    "period_bounds",
]

SloState = Literal["met", "breached", "no_data", "insufficient_data"]
Floats = npt.NDArray[np.float64]
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Months:
    """A calendar duration of whole months (OpenSLO "1M"; a quarter is Months(3), a year Months(12))."""

    count: int = 1


@dataclass(frozen=True, slots=True)
class Period:
    """An objective's time window (OpenSLO timeWindow).

    Attributes:
        duration: a fixed length, or whole calendar months.
        rolling: True for [at - duration, at); False for calendar periods aligned on `calendar_start`.
        calendar_start: the local wall time one calendar period starts at (OpenSLO calendar.startTime);
            by default the 1st of a month at midnight for Months, a Monday midnight otherwise.
        tz: the IANA time zone calendar periods follow, daylight saving included.
    """

    duration: timedelta | Months
    rolling: bool = True
    calendar_start: datetime | None = None
    tz: str = "UTC"

    def bounds(self, at: datetime) -> tuple[datetime, datetime]:
        """The period containing `at`, as UTC times [start, end)."""
        return period_bounds(at, self.duration, self.rolling, self.calendar_start, self.tz)


def _utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive datetimes are taken to be UTC already, as the store keeps them."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    """The same wall time `months` later, the day clamped to the month's length (31 Jan + 1 = 28/29 Feb)."""
    years, month0 = divmod(moment.month - 1 + months, 12)
    year = moment.year + years
    return moment.replace(year=year, month=month0 + 1, day=min(moment.day, monthrange(year, month0 + 1)[1]))


def period_bounds(
    at: datetime,
    duration: timedelta | Months,
    rolling: bool = True,
    calendar_start: datetime | None = None,
    tz: str = "UTC",
) -> tuple[datetime, datetime]:
    """The period containing `at` as UTC times [start, end).

    Rolling windows are [at - duration, at). Calendar periods are counted in local wall time in `tz` from
    `calendar_start` (a calendar day across a daylight-saving change lasts 23 or 25 hours) and converted
    to UTC; the period is the one whose start is at or before `at`.
    """
    at = _utc(at)
    if rolling:
        if isinstance(duration, Months):
            raise ConfigError("A rolling time window needs a fixed duration such as 30d, not months.")
        return at - duration, at
    if duration <= timedelta(0) if isinstance(duration, timedelta) else duration.count < 1:
        raise ConfigError(f"A time window must be longer than zero, not {duration}.")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"Unknown time zone {tz!r} in a calendar time window.") from error
    if calendar_start is None:
        anchor = datetime(2000, 1, 1) if isinstance(duration, Months) else datetime(2000, 1, 3)
    elif calendar_start.tzinfo is None:
        anchor = calendar_start
    else:
        anchor = calendar_start.astimezone(zone).replace(tzinfo=None)
    local_at = at.astimezone(zone).replace(tzinfo=None)

    def nth(k: int) -> datetime:
        local = (
            _add_months(anchor, k * duration.count) if isinstance(duration, Months) else anchor + k * duration
        )
        return local.replace(tzinfo=zone).astimezone(UTC)

    if isinstance(duration, Months):
        n = ((local_at.year - anchor.year) * 12 + local_at.month - anchor.month) // duration.count
    else:
        n = (local_at - anchor) // duration
    while nth(n) > at:
        n -= 1
    while nth(n + 1) <= at:
        n += 1
    return nth(n), nth(n + 1)


@dataclass(frozen=True, slots=True)
class SloStatus:
    """An objective evaluated at one time.

    Attributes:
        state: "met", "breached", "no_data" or "insufficient_data".
        at: the evaluation time (UTC).
        period_start: start of the period evaluated (UTC); the period runs to `at`.
        period_end: end of the period (`at` for rolling windows, the calendar period's end otherwise).
        target: the objective, in (0, 1).
        budgeting: the OpenSLO budgeting method.
        attainment: good share of the period under the method (NaN with no data).
        events: events counted for the minimum-events guard (items in the latest snapshot for inventories).
        budget: the error budget up to `at`.
        burn_rates: burn rates over the standard trailing windows (5m ... 3d).
        alerts: every enabled alert window, firing or not.
    """

    state: SloState
    at: datetime
    period_start: datetime
    period_end: datetime
    target: float
    budgeting: Budgeting
    attainment: float
    events: float
    budget: ErrorBudget
    burn_rates: tuple[BurnRate, ...]
    alerts: tuple[AlertState, ...]

    @property
    def firing(self) -> tuple[AlertState, ...]:
        """The alerts that fire."""
        return tuple(alert for alert in self.alerts if alert.firing)

    def burn_rate(self, name: str) -> float:
        """The burn rate over the named window ("1h"); KeyError for an unknown name."""
        for rate in self.burn_rates:
            if rate.name == name:
                return rate.rate
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class BudgetHistory:
    """Budget remaining after each slice, for charts.

    Attributes:
        times: the end of each slice, UTC, as numpy datetime64[us].
        remaining: the fraction of the budget left at that time over the period ending then (NaN: no data).
    """

    times: npt.NDArray[np.datetime64]
    remaining: Floats


def _filled(series: SliSeries) -> tuple[Floats, Floats]:
    """good and total with each snapshot carried forward onto the following empty slices."""
    good = np.asarray(series.good, dtype=np.float64)
    total = np.asarray(series.total, dtype=np.float64)
    if series.kind == "events":
        return good, total
    index = np.where(total > 0, np.arange(total.size), -1)
    last = np.maximum.accumulate(index) if total.size else index
    held = last >= 0
    return np.where(held, good[last], 0.0), np.where(held, total[last], 0.0)


def _index_at_or_after(series: SliSeries, moment: datetime) -> int:
    """Index of the first slice starting at or after `moment`, clipped to [0, slices]."""
    ceil = -((_utc(series.window.start) - moment) // series.window.step)
    return min(max(ceil, 0), series.good.size)


def _slices_ending_by(series: SliSeries, moment: datetime) -> int:
    """How many slices end at or before `moment`, clipped to [0, slices]."""
    return min(max((moment - _utc(series.window.start)) // series.window.step, 0), series.good.size)


def _unit(series: SliSeries, budgeting: Budgeting) -> tuple[BudgetUnit, float]:
    """The budget's unit and the size of one weight unit in it."""
    minutes = series.window.step / timedelta(minutes=1)
    if budgeting != "Occurrences":
        return "minutes", minutes
    return ("events", 1.0) if series.kind == "events" else ("item_minutes", minutes)


def evaluate_objective(
    series: SliSeries,
    *,
    target: float,
    budgeting: Budgeting,
    at: datetime,
    period: timedelta | Period,
    time_slice_target: float | None = None,
    min_events: float = 0,
    tiers: Collection[Severity] = ALL_TIERS,
    conditions: Sequence[PolicyCondition] = (),
) -> SloStatus:
    """Evaluate one objective at `at` (see the module docstring for the rules).

    Args:
        series: the SLI's good/total per slice; its window must start early enough to cover the period,
            the longest burn-rate window and, for snapshots, the last snapshot before them.
        target: the objective, strictly between 0 and 1.
        budgeting: "Occurrences", "Timeslices" or "RatioTimeslices".
        at: the evaluation time; naive datetimes are UTC.
        period: a rolling duration, or a Period for calendar windows.
        time_slice_target: the per-slice ratio a slice must reach to be good (Timeslices only).
        min_events: below this many events (items for snapshots) the state is "insufficient_data".
        tiers: the Workbook alert tiers enabled for this objective.
        conditions: OpenSLO AlertPolicy burn-rate conditions, evaluated after the Workbook's windows.
    """
    validate_target(target)
    spec = period if isinstance(period, Period) else Period(period)
    at = _utc(at)
    start, end = spec.bounds(at)
    good, total = _filled(series)
    weight, bad = slice_weights(good, total, budgeting, time_slice_target)
    hi = _slices_ending_by(series, at)
    lo = min(_index_at_or_after(series, start), hi)
    weight_sum, bad_sum = float(weight[lo:hi].sum()), float(bad[lo:hi].sum())
    unit, scale = _unit(series, budgeting)
    budget = error_budget(weight_sum, bad_sum, target, unit=unit, scale=scale)
    attainment = 1.0 - bad_sum / weight_sum if weight_sum > 0 else float("nan")
    if series.kind == "events":
        events = float(np.asarray(series.total, dtype=np.float64)[lo:hi].sum())
    else:
        events = float(total[hi - 1]) if hi > lo else 0.0
    state: SloState
    if weight_sum <= 0:
        state = "no_data"
    elif events < min_events:
        state = "insufficient_data"
    else:
        state = "breached" if attainment < target else "met"

    cum_weight, cum_bad = cumulative(weight), cumulative(bad)
    # Unclipped: after the series' end, trailing windows must not slide back onto its last slices.
    ends = np.array([(at - _utc(series.window.start)) // series.window.step], dtype=np.int64)
    step = series.window.step

    def rate_over(window: timedelta) -> float:
        return float(trailing_burn_rates(cum_weight, cum_bad, ends, slices_in(window, step), target)[0])

    rates = tuple(
        BurnRate(name, window, slices_in(window, step) * step, rate_over(window))
        for name, window in BURN_RATE_WINDOWS
    )
    enabled = state in ("met", "breached")
    alerts = evaluate_alerts(alert_windows(end - start, tiers), rate_over, enabled=enabled)

    def condition_state(window: AlertWindow) -> AlertState:
        # alertAfter: the condition must hold at every slice end of the last alert_after, now included.
        held = slices_in(window.alert_after, step) if window.alert_after > timedelta(0) else 0
        at_ends = ends[0] - np.arange(held, -1, -1, dtype=np.int64)
        rates = trailing_burn_rates(cum_weight, cum_bad, at_ends, slices_in(window.long, step), target)
        holds = _compare(rates, window.op, window.factor)
        now = float(rates[-1])
        return AlertState(window, now, now, enabled and bool(holds.all()))

    alerts += tuple(condition_state(condition_window(c, end - start)) for c in conditions)
    return SloStatus(state, at, start, end, target, budgeting, attainment, events, budget, rates, alerts)


def _compare(values: Floats, op: str, threshold: float) -> npt.NDArray[np.bool_]:
    """values `op` threshold element-wise; NaN (no data) never holds."""
    if op == "gt":
        return values > threshold
    if op == "gte":
        return values >= threshold
    if op == "lt":
        return values < threshold
    return values <= threshold


def _period_starts(spec: Period, origin: datetime, times_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Start of the period ending at each time, in microseconds from `origin` (times likewise)."""
    if spec.rolling:
        if isinstance(spec.duration, Months):
            raise ConfigError("A rolling time window needs a fixed duration such as 30d, not months.")
        return times_us - spec.duration // _US
    # Calendar periods: list the few period starts covering the times, then look each time up.
    first, last = origin + int(times_us[0]) * _US, origin + int(times_us[-1]) * _US
    start, end = spec.bounds(first)
    starts = [start]
    while end <= last:
        start, end = spec.bounds(end)
        starts.append(start)
    starts_us = np.array([(moment - origin) // _US for moment in starts], dtype=np.int64)
    return starts_us[np.searchsorted(starts_us, times_us, side="right") - 1]


def budget_history(
    series: SliSeries,
    *,
    target: float,
    budgeting: Budgeting,
    period: timedelta | Period,
    time_slice_target: float | None = None,
) -> BudgetHistory:
    """Budget remaining, as a fraction, evaluated at the end of every slice of the series.

    Each point equals evaluate_objective(...).budget.remaining_fraction at that time; it is computed for
    all slices at once from cumulative sums. The consumed fraction over a period is its burn rate, so
    remaining = 1 - burn rate over the period.
    """
    validate_target(target)
    spec = period if isinstance(period, Period) else Period(period)
    good, total = _filled(series)
    weight, bad = slice_weights(good, total, budgeting, time_slice_target)
    origin = _utc(series.window.start)
    step_us = series.window.step // _US
    ends = np.arange(1, good.size + 1, dtype=np.int64)
    times_us = ends * step_us
    if ends.size:
        starts_us = _period_starts(spec, origin, times_us)
        lo = np.clip(-(-starts_us // step_us), 0, ends)
        cum_weight, cum_bad = cumulative(weight), cumulative(bad)
        rate = burn_rate(cum_weight[ends] - cum_weight[lo], cum_bad[ends] - cum_bad[lo], target)
    else:
        rate = np.zeros(0, dtype=np.float64)
    times = np.datetime64(origin.replace(tzinfo=None), "us") + times_us.astype("timedelta64[us]")
    return BudgetHistory(times, 1.0 - rate)
