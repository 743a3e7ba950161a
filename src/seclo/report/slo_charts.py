"""The two charts of an objective: its error budget burning down, and its SLI against the target.

Both cover the current period, from its start to the evaluation time. The SLI's good/total per slice is
summed into hours (periods up to a week) or days, so a 28-day objective shows 28 points rather than 8,064
five-minute slices; the budget curve keeps the value at the end of each bucket of at most `MAX_POINTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from seclo.report.charts import (
    COLOURS,
    legend_above,
    new_chart,
    percent_axis,
    reference_line,
    time_axis,
    to_svg,
)
from seclo.sli.interface import SliSeries
from seclo.slo.status import SloResult

__all__ = ["MAX_POINTS", "SliBuckets", "budget_chart", "resolution", "sli_buckets", "sli_chart"]

# Points drawn per budget curve: enough for a smooth line at report width, few enough to keep the SVG small.
MAX_POINTS = 400
_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1)
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SliBuckets:
    """The SLI summed into buckets of `size`: bucket i covers [starts[i], starts[i] + size)."""

    starts: npt.NDArray[np.datetime64]
    good: Floats
    total: Floats
    size: timedelta

    @property
    def ratio(self) -> Floats:
        """good / total per bucket, NaN for a bucket without data."""
        out = np.full(self.total.shape, np.nan)
        np.divide(self.good, self.total, out=out, where=self.total > 0)
        return out


def _naive(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def resolution(span: timedelta, step: timedelta) -> timedelta:
    """Hourly buckets for periods up to a week, daily beyond; a whole number of slices, at least one."""
    bucket = timedelta(hours=1) if span <= timedelta(days=7) else timedelta(days=1)
    return max(1, -(-bucket // step)) * step


def _carried(series: SliSeries) -> tuple[Floats, Floats]:
    """good and total, with each inventory snapshot held until the next (as seclo.slo.evaluation does)."""
    good = np.asarray(series.good, dtype=np.float64)
    total = np.asarray(series.total, dtype=np.float64)
    if series.kind == "events" or not total.size:
        return good, total
    last = np.maximum.accumulate(np.where(total > 0, np.arange(total.size), -1))
    held = last >= 0
    return np.where(held, good[last], 0.0), np.where(held, total[last], 0.0)


def _slice_range(series: SliSeries, start: datetime, end: datetime) -> tuple[int, int]:
    """Indices [lo, hi) of the slices starting at or after `start` and ending by `end`."""
    origin, step = series.window.start, series.window.step
    lo = -((origin - start) // step)
    hi = (end - origin) // step
    size = series.good.size
    return min(max(lo, 0), size), min(max(hi, 0), size)


def sli_buckets(series: SliSeries, start: datetime, end: datetime, size: timedelta) -> SliBuckets:
    """Sum the series' slices within [start, end] (naive UTC) into buckets aligned on multiples of `size`.

    Inventory snapshots are carried forward first, so a day holds the inventory as it stood through the day
    (items weighted by how long they were held), not only the day a scan happened to run.
    """
    good, total = _carried(series)
    lo, hi = _slice_range(series, start, end)
    origin_us = (series.window.start - _EPOCH) // _US
    step_us, size_us = series.window.step // _US, size // _US
    slice_starts = origin_us + np.arange(lo, hi, dtype=np.int64) * step_us
    groups = slice_starts // size_us
    if not groups.size:
        empty = np.zeros(0, dtype=np.float64)
        return SliBuckets(np.zeros(0, dtype="datetime64[us]"), empty, empty, size)
    firsts = np.flatnonzero(np.diff(groups, prepend=groups[0] - 1))
    starts = (groups[firsts] * size_us).astype("datetime64[us]")
    return SliBuckets(
        starts, np.add.reduceat(good[lo:hi], firsts), np.add.reduceat(total[lo:hi], firsts), size
    )


def _period(result: SloResult) -> tuple[datetime, datetime] | None:
    status = result.status
    if status is None or status.state == "no_data" or result.series is None:
        return None
    return _naive(status.period_start), _naive(status.at)


def budget_chart(result: SloResult, chart_id: str) -> str | None:
    """The error budget left over the period as an SVG, with 0 and the policy's thresholds marked.

    None when the objective has no status or no data to draw.
    """
    bounds, history = _period(result), result.history()
    if bounds is None or history is None or result.status is None:
        return None
    start, at = bounds
    times = history.times.astype("datetime64[us]")
    keep = (times > np.datetime64(start, "us")) & (times <= np.datetime64(at, "us"))
    times, remaining = times[keep], history.remaining[keep]
    if not times.size or np.isnan(remaining).all():
        return None
    # The value at the end of each bucket, so the curve ends on the budget left at the evaluation time.
    bucket_us = max(1, int((at - start) / _US) // MAX_POINTS)
    groups = times.astype(np.int64) // bucket_us
    last = np.flatnonzero(np.append(np.diff(groups) != 0, True))
    times, remaining = times[last], remaining[last]

    chart = new_chart()
    axes = chart.axes
    axes.plot(times, remaining, color=COLOURS["line"], linewidth=1.6, label="budget left")
    axes.fill_between(times, remaining, 0, where=remaining >= 0, color=COLOURS["good"], alpha=0.12)
    axes.fill_between(times, remaining, 0, where=remaining < 0, color=COLOURS["bad"], alpha=0.15)
    reference_line(axes, 0.0, "budget exhausted (0%)", colour=COLOURS["bad"], style="-")
    thresholds = [0.0]
    if result.policy is not None:
        for state in result.policy.steps:
            below = state.step.budget_remaining_below
            if below is not None:
                thresholds.append(below)
                label = f"policy step '{state.step.name}': below {below:.0%}"
                reference_line(axes, below, label, colour=COLOURS["warn"])
    values = remaining[~np.isnan(remaining)]
    low, high = min(0.0, float(values.min())), max(1.0, float(values.max()), *thresholds)
    pad = (high - low) * 0.08
    axes.set_ylim(low - pad, high + pad)
    final = float(result.status.budget.remaining_fraction)
    if not np.isnan(final):
        axes.plot([times[-1]], [final], "o", color=COLOURS["line"], markersize=4)
        axes.annotate(
            f"now: {final:.0%}",
            (times[-1], final),
            xytext=(-8, 8),
            textcoords="offset points",
            ha="right",
            color=COLOURS["text"],
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    percent_axis(axes)
    axes.set_ylabel("error budget left")
    time_axis(axes, start, at)
    legend_above(axes)
    return to_svg(chart, chart_id, f"Error budget left over the period for {result.name}")


def sli_chart(result: SloResult, chart_id: str) -> str | None:
    """The SLI (good share per hour or day) over the period against the target, as an SVG.

    For Timeslices objectives the reference is the per-slice target, the ratio a slice must reach to be
    good. None when the objective has no status or no data to draw.
    """
    bounds, series = _period(result), result.series
    if bounds is None or series is None:
        return None
    start, at = bounds
    size = resolution(at - start, series.window.step)
    buckets = sli_buckets(series, start, at, size)
    ratio = buckets.ratio
    if not ratio.size or np.isnan(ratio).all():
        return None
    per = "hour" if size <= timedelta(hours=1) else "day" if size == timedelta(days=1) else _span(size)
    # A step per bucket, closed by one more point at its end so the last bucket shows its full width.
    times = np.append(buckets.starts, buckets.starts[-1] + np.timedelta64(size // _US, "us"))
    values = np.append(ratio, ratio[-1])
    if result.budgeting == "Timeslices" and result.time_slice_target is not None:
        reference, label = (
            result.time_slice_target,
            f"a slice is good at {result.time_slice_target:.1%} or more",
        )
    else:
        reference, label = result.target, f"target {result.target:.1%}"

    chart = new_chart()
    axes = chart.axes
    axes.plot(
        times,
        values,
        drawstyle="steps-post",
        color=COLOURS["line"],
        linewidth=1.6,
        label=f"good share per {per}",
    )
    axes.fill_between(
        times,
        values,
        reference,
        where=values < reference,
        step="post",
        color=COLOURS["bad"],
        alpha=0.18,
        label="below the target",
    )
    with_data = ~np.isnan(ratio)
    if with_data.sum() * 2 < ratio.size:
        # Sparse SLIs (a few incidents a quarter) would be specks as steps: mark each bucket with data.
        centres = buckets.starts[with_data] + np.timedelta64(size // _US // 2, "us")
        axes.plot(centres, ratio[with_data], "o", color=COLOURS["line"], markersize=4)
    reference_line(axes, reference, label, colour=COLOURS["good"])
    data = values[~np.isnan(values)]
    low = min(float(data.min()), reference)
    pad = max((1.0 - low) * 0.1, 0.002)
    axes.set_ylim(max(low - pad, 0.0), 1.0 + pad)
    percent_axis(axes)
    axes.set_ylabel(f"good share per {per}")
    time_axis(axes, start, at)
    legend_above(axes)
    return to_svg(chart, chart_id, f"SLI per {per} against the target for {result.name}")


def _span(length: timedelta) -> str:
    hours = length / timedelta(hours=1)
    return f"{hours:g} hours"
