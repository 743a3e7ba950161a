"""Hand-worked examples of the SLO engine's maths, including the SRE Workbook's own numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from seclo.errors import ConfigError
from seclo.sli.interface import SliKind, SliSeries, Window
from seclo.slo.alerting import alert_windows
from seclo.slo.budget import Budgeting
from seclo.slo.evaluation import SloStatus, budget_history, evaluate_objective

START = datetime(2024, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAYS30 = timedelta(days=30)


def series(
    good: list[float], total: list[float], step: timedelta = HOUR, kind: SliKind = "events"
) -> SliSeries:
    """A series from plain lists starting at START."""
    window = Window(START, START + len(total) * step, step)
    return SliSeries(window, np.array(good, dtype=np.float64), np.array(total, dtype=np.float64), kind)


def evaluate(
    s: SliSeries,
    *,
    budgeting: Budgeting = "Occurrences",
    target: float = 0.999,
    period: timedelta = DAYS30,
    at: datetime | None = None,
    time_slice_target: float | None = None,
    min_events: float = 0,
) -> SloStatus:
    """Evaluate at the series' end unless told otherwise."""
    when = at if at is not None else s.window.end
    return evaluate_objective(
        s,
        target=target,
        budgeting=budgeting,
        at=when,
        period=period,
        time_slice_target=time_slice_target,
        min_events=min_events,
    )


def test_thirty_day_budget_at_three_nines_is_43_2_minutes() -> None:
    """A 99.9% Timeslices objective over 30 fully measured days allows 43.2 minutes of bad time."""
    n = 30 * 24 * 60
    status = evaluate(series([10.0] * n, [10.0] * n, MINUTE), budgeting="Timeslices", time_slice_target=0.99)
    assert status.budget.allowed == pytest.approx(43.2)
    assert status.budget.unit == "minutes"
    assert status.budget.remaining_fraction == pytest.approx(1.0)
    assert status.state == "met"


def test_burn_of_14_4_for_one_hour_spends_two_percent_of_a_30_day_budget() -> None:
    """An error ratio of 14.4 x 0.1% during the last hour is a 14.4x burn that spends 2% of the budget."""
    n = 30 * 24 * 60
    total = np.full(n, 1000.0)
    good = total.copy()
    good[-60:] = 1000.0 * (1 - 0.0144)
    status = evaluate(series(list(good), list(total), MINUTE))
    assert status.burn_rate("1h") == pytest.approx(14.4)
    assert status.burn_rate("5m") == pytest.approx(14.4)
    assert status.budget.consumed_fraction == pytest.approx(0.02)
    assert status.budget.allowed == pytest.approx(43_200.0)
    assert status.budget.consumed + status.budget.remaining == pytest.approx(status.budget.allowed)
    assert status.state == "met"


def test_factors_for_30_days_are_the_workbooks() -> None:
    """The derived factors for a 30-day period are 14.4, 6, 3 and 1 on 1h/5m, 6h/30m, 1d/2h and 3d/6h."""
    windows = alert_windows(DAYS30)
    assert [w.factor for w in windows] == pytest.approx([14.4, 6.0, 3.0, 1.0])
    assert [(w.long, w.short) for w in windows] == [
        (HOUR, timedelta(minutes=5)),
        (6 * HOUR, timedelta(minutes=30)),
        (timedelta(days=1), 2 * HOUR),
        (timedelta(days=3), 6 * HOUR),
    ]
    assert [w.severity for w in windows] == ["page", "page", "ticket", "ticket"]


def test_factors_for_28_and_7_days_scale_with_the_period() -> None:
    """A 28-day period gives 13.44, 5.6, 2.8, 0.933 and a 7-day one 3.36, 1.4, 0.7, 0.233."""
    assert [w.factor for w in alert_windows(timedelta(days=28))] == pytest.approx(
        [13.44, 5.6, 2.8, 0.9333333]
    )
    assert [w.factor for w in alert_windows(timedelta(days=7))] == pytest.approx([3.36, 1.4, 0.7, 0.2333333])


def test_windows_longer_than_the_period_are_left_out() -> None:
    """A one-day objective has no three-day ticket, so a met objective cannot raise one at 0.033x."""
    names = [w.name for w in alert_windows(timedelta(days=1))]
    assert names == ["page-quick", "page-slow", "ticket-quick"]
    assert min(w.factor for w in alert_windows(timedelta(days=1))) == pytest.approx(0.1)


def test_tier_switch_keeps_only_pages() -> None:
    """An objective with only the page tier enabled gets the two page windows and no tickets."""
    assert [w.name for w in alert_windows(DAYS30, {"page"})] == ["page-quick", "page-slow"]


def test_page_fires_only_when_long_and_short_windows_both_burn() -> None:
    """A fast burn in the last hour fires page-quick; once the last 5 minutes are clean it stops."""
    n = 3 * 24 * 60
    total = [100.0] * n
    burning = [100.0] * (n - 60) + [80.0] * 60
    status = evaluate(series(burning, total, MINUTE))
    assert "page-quick" in [a.window.name for a in status.firing]
    recovered = [100.0] * (n - 60) + [80.0] * 55 + [100.0] * 5
    status = evaluate(series(recovered, total, MINUTE))
    assert "page-quick" not in [a.window.name for a in status.firing]
    assert status.burn_rate("1h") > 14.4


def test_occurrences_budget_in_events() -> None:
    """1000 events with 3 bad at 99.9% allow 1 event, consume 3 and breach with 2 events over budget."""
    status = evaluate(series([500.0, 497.0], [500.0, 500.0]))
    assert status.budget.unit == "events"
    assert status.budget.allowed == pytest.approx(1.0)
    assert status.budget.consumed == pytest.approx(3.0)
    assert status.budget.remaining == pytest.approx(-2.0)
    assert status.attainment == pytest.approx(0.997)
    assert status.state == "breached"


def test_timeslices_ignore_slices_without_data() -> None:
    """Of 4 hourly slices, one empty, one below timeSliceTarget: attainment is 2/3, budget in minutes."""
    status = evaluate(
        series([10.0, 0.0, 5.0, 9.0], [10.0, 0.0, 10.0, 10.0]),
        budgeting="Timeslices",
        target=0.5,
        time_slice_target=0.9,
    )
    assert status.attainment == pytest.approx(2 / 3)
    assert status.budget.allowed == pytest.approx(0.5 * 3 * 60)
    assert status.budget.consumed == pytest.approx(60.0)
    assert status.state == "met"


def test_ratio_timeslices_average_the_slice_ratios() -> None:
    """RatioTimeslices attainment is the mean of per-slice ratios, not the pooled ratio."""
    status = evaluate(series([1.0, 90.0], [2.0, 100.0]), budgeting="RatioTimeslices", target=0.9)
    assert status.attainment == pytest.approx((0.5 + 0.9) / 2)
    assert status.state == "breached"


def test_timeslices_need_a_slice_target() -> None:
    """Timeslices budgeting without timeSliceTarget is a configuration error."""
    with pytest.raises(ConfigError, match="timeSliceTarget"):
        evaluate(series([1.0], [1.0]), budgeting="Timeslices")


def test_target_of_one_is_rejected() -> None:
    """A 100% target has no budget, so it is rejected with a message."""
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        evaluate(series([1.0], [1.0]), target=1.0)


def test_empty_period_is_no_data_and_never_met() -> None:
    """A period without any events is no_data, with NaN attainment and no alert firing."""
    status = evaluate(series([0.0] * 48, [0.0] * 48))
    assert status.state == "no_data"
    assert np.isnan(status.attainment)
    assert np.isnan(status.budget.remaining_fraction)
    assert status.firing == ()


def test_minimum_events_guard() -> None:
    """Two failed logins out of three is insufficient_data under a 10-event minimum, and pages nobody."""
    status = evaluate(series([1.0], [3.0]), min_events=10)
    assert status.state == "insufficient_data"
    assert status.events == 3.0
    assert status.firing == ()
    assert evaluate(series([1.0], [3.0])).state == "breached"


def test_evaluation_at_a_past_time_ignores_later_slices() -> None:
    """Evaluated after the first two hours, a later failing slice is not seen."""
    s = series([10.0, 10.0, 0.0], [10.0, 10.0, 10.0])
    assert evaluate(s, at=START + 2 * HOUR).state == "met"
    assert evaluate(s, at=START + 2 * HOUR + 30 * MINUTE).state == "met"
    assert evaluate(s).state == "breached"


def test_snapshot_counts_hold_until_the_next_snapshot() -> None:
    """An inventory snapshot of 10 accounts with 8 on MFA holds for 3 hours, then 10 of 10 for 1 hour."""
    s = series([8.0, 0.0, 0.0, 10.0], [10.0, 0.0, 0.0, 10.0], kind="snapshot")
    status = evaluate(s, target=0.9)
    assert status.attainment == pytest.approx((8 * 3 + 10) / 40)
    assert status.budget.unit == "item_minutes"
    assert status.budget.consumed == pytest.approx(2 * 3 * 60)
    assert status.events == 10.0
    assert status.state == "breached"


def test_snapshot_before_the_period_carries_into_it() -> None:
    """A snapshot taken before a 2-hour rolling period still describes the period's slices."""
    s = series([5.0, 0.0, 0.0, 0.0], [10.0, 0.0, 0.0, 0.0], kind="snapshot")
    status = evaluate(s, target=0.9, period=2 * HOUR, budgeting="Timeslices", time_slice_target=0.9)
    assert status.attainment == 0.0
    assert status.budget.consumed == pytest.approx(120.0)


def test_budget_history_matches_the_evaluation_at_each_slice() -> None:
    """The vectorised history equals the remaining budget of a full evaluation at each slice end."""
    s = series([10.0, 9.0, 0.0, 10.0, 7.0, 10.0], [10.0, 10.0, 0.0, 10.0, 10.0, 10.0])
    history = budget_history(s, target=0.9, budgeting="Occurrences", period=3 * HOUR)
    assert history.times[0] == np.datetime64("2024-01-01T01:00")
    for time, remaining in zip(history.times.tolist(), history.remaining, strict=True):
        status = evaluate(s, target=0.9, period=3 * HOUR, at=time.replace(tzinfo=UTC))
        assert remaining == pytest.approx(status.budget.remaining_fraction)
    assert history.remaining[-1] == pytest.approx(1 - (3 / 30) / 0.1)
