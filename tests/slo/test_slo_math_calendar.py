"""Rolling and calendar periods, including months and days across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seclo.errors import ConfigError
from seclo.sli.interface import SliSeries, Window
from seclo.slo.evaluation import Months, Period, budget_history, evaluate_objective, period_bounds

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


def test_rolling_window_ends_at_the_evaluation_time() -> None:
    """A rolling 30-day window is [at - 30d, at)."""
    at = datetime(2024, 3, 15, 12, tzinfo=UTC)
    assert period_bounds(at, timedelta(days=30)) == (at - timedelta(days=30), at)


def test_calendar_month_in_berlin_follows_local_midnight() -> None:
    """March 2024 in Berlin runs from 23:00 UTC on 29 Feb to 22:00 UTC on 31 March (DST began)."""
    at = datetime(2024, 3, 15, tzinfo=UTC)
    start, end = period_bounds(at, Months(1), rolling=False, tz="Europe/Berlin")
    assert start == datetime(2024, 2, 29, 23, tzinfo=UTC)
    assert end == datetime(2024, 3, 31, 22, tzinfo=UTC)


def test_calendar_day_of_a_dst_change_lasts_23_hours() -> None:
    """The calendar day of 31 March 2024 in Berlin is 23 hours long."""
    start, end = period_bounds(
        datetime(2024, 3, 31, 12, tzinfo=UTC), timedelta(days=1), rolling=False, tz="Europe/Berlin"
    )
    assert end - start == timedelta(hours=23)
    assert start.astimezone(BERLIN).hour == 0


def test_month_anchored_on_the_31st_clamps_to_short_months() -> None:
    """A monthly period anchored on 31 January starts on 29 February in a leap year."""
    anchor = datetime(2024, 1, 31)
    start, end = period_bounds(datetime(2024, 3, 10, tzinfo=UTC), Months(1), False, anchor, "UTC")
    assert start == datetime(2024, 2, 29, tzinfo=UTC)
    assert end == datetime(2024, 3, 31, tzinfo=UTC)


def test_quarter_period() -> None:
    """A calendar quarter anchored on 1 January contains 15 May in April to June."""
    start, end = period_bounds(datetime(2024, 5, 15, tzinfo=UTC), Months(3), False, datetime(2024, 1, 1))
    assert (start, end) == (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))


def test_unknown_time_zone_is_a_config_error() -> None:
    """A misspelt time zone is reported as a configuration error."""
    with pytest.raises(ConfigError, match="time zone"):
        period_bounds(datetime(2024, 1, 1, tzinfo=UTC), Months(1), rolling=False, tz="Europe/Berln")


def test_rolling_months_are_rejected() -> None:
    """A rolling window in months has no fixed length and is rejected."""
    with pytest.raises(ConfigError, match="rolling"):
        period_bounds(datetime(2024, 1, 1, tzinfo=UTC), Months(1))


@settings(max_examples=200, deadline=None)
@given(
    at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
    duration=st.sampled_from([timedelta(days=1), timedelta(weeks=1), Months(1), Months(3), Months(12)]),
)
def test_calendar_periods_contain_at_and_tile_time(
    at: datetime, zone: str, duration: timedelta | Months
) -> None:
    """Every calendar period contains its time, starts at local midnight, and the next starts at its end."""
    start, end = period_bounds(at, duration, rolling=False, tz=zone)
    assert start <= at < end
    assert period_bounds(end, duration, rolling=False, tz=zone)[0] == end
    assert period_bounds(start, duration, rolling=False, tz=zone) == (start, end)
    local = start.astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute) == (0, 0)
    if isinstance(duration, Months):
        assert local.day == 1


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    duration=st.sampled_from([timedelta(days=1), Months(1)]),
    offset_hours=st.integers(min_value=0, max_value=24 * 200),
    counts=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=120),
)
def test_calendar_history_matches_evaluation(
    zone: str, duration: timedelta | Months, offset_hours: int, counts: list[tuple[int, int]]
) -> None:
    """Budget history over calendar periods in a DST zone equals a full evaluation at each slice end."""
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=offset_hours)
    step = timedelta(hours=1)
    total = np.array([a + b for a, b in counts], dtype=np.float64)
    good = np.array([a for a, _ in counts], dtype=np.float64)
    s = SliSeries(Window(start, start + len(counts) * step, step), good, total)
    period = Period(duration, rolling=False, tz=zone)
    history = budget_history(s, target=0.8, budgeting="Occurrences", period=period)
    for index, remaining in enumerate(history.remaining):
        at = start + (index + 1) * step
        status = evaluate_objective(s, target=0.8, budgeting="Occurrences", at=at, period=period)
        assert history.times[index] == np.datetime64(at.replace(tzinfo=None), "us")
        expected = status.budget.remaining_fraction
        assert (np.isnan(remaining) and np.isnan(expected)) or remaining == pytest.approx(expected)
