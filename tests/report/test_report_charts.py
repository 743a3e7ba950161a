"""The report's charts: SLI buckets a reader can follow, and small, text-keeping, reproducible SVG."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from report_helpers import AT, PERIOD, POLICY, result

from seclo.report.charts import new_chart, to_svg
from seclo.report.slo_charts import budget_chart, resolution, sli_buckets, sli_chart
from seclo.sli.interface import SliSeries, Window


@pytest.mark.parametrize(
    ("span", "step", "bucket"),
    [
        (timedelta(days=28), timedelta(minutes=5), timedelta(days=1)),
        (timedelta(days=1), timedelta(minutes=5), timedelta(hours=1)),
        (timedelta(days=7), timedelta(minutes=5), timedelta(hours=1)),
        (timedelta(days=1), timedelta(hours=2), timedelta(hours=2)),
        (timedelta(days=30), timedelta(hours=7), timedelta(hours=28)),
    ],
)
def test_resolution_is_hourly_up_to_a_week_then_daily(
    span: timedelta, step: timedelta, bucket: timedelta
) -> None:
    """A day's SLI shows 24 hours, a month's 30 days; a bucket is never shorter than one slice."""
    assert resolution(span, step) == bucket


def test_events_are_summed_per_day_within_the_period() -> None:
    """Daily buckets add up each day's events and leave out slices before the period or after `end`."""
    start = datetime(2024, 3, 1)
    window = Window(start - timedelta(days=1), start + timedelta(days=2), timedelta(hours=1))
    total = np.full(72, 10.0)
    good = total.copy()
    good[24:48] = 5.0  # the first day of the period is half bad
    buckets = sli_buckets(
        SliSeries(window, good, total), start, start + timedelta(days=1, hours=12), timedelta(days=1)
    )
    assert buckets.starts.tolist() == [datetime(2024, 3, 1), datetime(2024, 3, 2)]
    assert buckets.total.tolist() == [240.0, 120.0]
    assert buckets.ratio.tolist() == [0.5, 1.0]


def test_snapshots_are_carried_forward_through_the_day() -> None:
    """An inventory scanned once a day counts all day; the hours before the first scan have no data."""
    start = datetime(2024, 3, 1)
    window = Window(start, start + timedelta(days=2), timedelta(hours=1))
    total, good = np.zeros(48), np.zeros(48)
    total[6], good[6] = 10.0, 9.0  # a scan at 06:00 on day one, none on day two
    series = SliSeries(window, good, total, "snapshot")
    buckets = sli_buckets(series, start, start + timedelta(days=2), timedelta(days=1))
    assert buckets.total.tolist() == [180.0, 240.0]
    assert buckets.ratio.tolist() == pytest.approx([0.9, 0.9])
    hourly = sli_buckets(series, start, start + timedelta(hours=8), timedelta(hours=1))
    assert np.isnan(hourly.ratio[:6]).all()
    assert hourly.ratio[6:].tolist() == pytest.approx([0.9, 0.9])


def test_budget_chart_ends_on_the_budget_left_now() -> None:
    """The burn-down's final label is the remaining budget the report states, and policy thresholds show."""
    breached = result("bad", last_hours_bad=48, policy=POLICY)
    assert breached.status is not None
    svg = budget_chart(breached, "bad-budget")
    assert svg is not None
    assert f"now: {breached.status.budget.remaining_fraction:.0%}" in svg
    assert "budget exhausted (0%)" in svg
    assert "policy step 'notify': below 50%" in svg
    assert "error budget left" in svg
    assert "time (UTC)" in svg


def test_sli_chart_shows_the_target_and_the_resolution() -> None:
    """The SLI chart names its resolution and draws the target line."""
    svg = sli_chart(result("ok", bad_share=0.02), "ok-sli")
    assert svg is not None
    assert "good share per day" in svg  # a 28-day period is shown per day
    assert "target 95.0%" in svg


def test_charts_keep_text_as_text_and_stay_small() -> None:
    """Labels are <text> (searchable, a few KB), not glyph outlines, and a chart stays under 40 KB."""
    svg = budget_chart(result("a", last_hours_bad=10), "a-budget")
    assert svg is not None
    assert "<text" in svg
    assert "DejaVuSans-" not in svg  # glyph definitions appear only when text is turned into paths
    assert len(svg) < 40_000
    assert svg.startswith("<svg ")
    assert "<title>Error budget left over the period for a</title>" in svg


def test_no_chart_without_data() -> None:
    """An objective without data has no chart to draw (the section says so instead)."""
    empty = result("empty", empty=True)
    assert budget_chart(empty, "e-budget") is None
    assert sli_chart(empty, "e-sli") is None


def test_svg_is_reproducible_and_ids_are_prefixed() -> None:
    """The same chart renders to the same bytes, with every id carrying the chart's own prefix."""

    def draw() -> str:
        chart = new_chart()
        chart.axes.plot([0, 1, 2], [0.2, 0.5, 0.4], label="x")
        return to_svg(chart, "demo-chart", "A <title> & more")

    first = draw()
    assert first == draw()
    assert 'id="demo-chart-' in first
    assert ' id="figure_1"' not in first
    assert "A &lt;title&gt; &amp; more" in first


def test_period_start_is_where_the_charts_begin() -> None:
    """Charts cover the period only: the series' 3 days of burn-rate lookback are not drawn."""
    ok = result("ok")
    assert ok.series is not None
    assert ok.series.window.start < AT - PERIOD
    buckets = sli_buckets(ok.series, AT - PERIOD, AT, timedelta(days=1))
    assert buckets.starts[0] == np.datetime64(AT - PERIOD, "us")
    assert buckets.starts.size == 28
