"""Patch SLA analysis: per-severity counts, the overdue list, the burn-down and the reopened-finding rule."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from analytics_helpers import add_finding, day

from seclo.analytics.interface import Window
from seclo.analytics.sla import analyze_sla
from seclo.errors import InputError
from seclo.sli import Window as SliWindow
from seclo.sli import get_indicator, indicator_params
from seclo.sli.slicing import REOPENED_RULE
from seclo.store import Store
from seclo.workspace import SlaDays

AT = day(40)


def _findings(store: Store) -> None:
    add_finding(store, "c-fast", 0, 5, severity="critical")  # 7-day SLA: within
    add_finding(store, "c-late", 0, 9, severity="critical")  # closed late
    add_finding(store, "c-open", 20, None, severity="critical")  # past SLA since day 27
    add_finding(store, "h-open", 30, None, severity="high")  # 30-day SLA: still within
    add_finding(store, "h-exact", 0, 30, severity="high")  # closed exactly at the deadline: within
    add_finding(store, "h-reopened", 0, 3, severity="high", status="reopened")  # open, past SLA since day 30
    add_finding(store, "fp", 0, None, severity="critical", status="false_positive")
    add_finding(store, "none", 0, None, severity="none")


def test_per_severity_counts(store: Store) -> None:
    """Within, late, overdue and pending per severity, with the share of decided findings fixed in time."""
    _findings(store)
    result = analyze_sla(store, Window(day(0), AT))
    by = {s.severity: s for s in result.severities}
    c, h, total = by["critical"], by["high"], result.total()
    assert (c.findings, c.within_sla, c.closed_late, c.open_past_sla, c.open_within_sla) == (3, 1, 1, 1, 0)
    assert (h.findings, h.within_sla, h.closed_late, h.open_past_sla, h.open_within_sla) == (3, 1, 0, 1, 1)
    assert c.within_share == pytest.approx(1 / 3)
    assert h.within_share == pytest.approx(1 / 2)
    assert total.findings == 6
    assert total.within_share == pytest.approx(2 / 5)
    assert by["low"].findings == 0


def test_overdue_list_with_age(store: Store) -> None:
    """The overdue list holds open findings past their deadline, oldest deadline first, with age and lateness."""
    _findings(store)
    result = analyze_sla(store, Window(day(0), AT), limit=1)
    assert result.overdue_total == 2
    (first,) = result.overdue
    assert first.finding_id == "c-open"
    assert first.age_days == pytest.approx(20)
    assert first.overdue_days == pytest.approx(13)


def test_configured_sla_days_change_the_verdict(store: Store) -> None:
    """A 10-day critical SLA turns the 9-day fix from late into within."""
    _findings(store)
    result = analyze_sla(store, Window(day(0), AT), SlaDays(critical=10))
    c = result.severities[0]
    assert (c.within_sla, c.closed_late) == (2, 0)


def test_burn_down_counts_open_findings_within_and_past_sla(store: Store) -> None:
    """The backlog at each day matches a count by hand: past SLA rises at deadlines and falls at late fixes."""
    _findings(store)
    result = analyze_sla(store, Window(day(0), AT), step=timedelta(days=1))
    bd = result.burn_down
    assert len(bd.times) == 41
    assert bd.times[0] == day(0)
    assert bd.times[-1] == AT

    def state(d: int) -> tuple[int, int]:
        return int(bd.within_sla[d]), int(bd.past_sla[d])

    assert state(0) == (4, 0)  # c-fast, c-late, h-exact, h-reopened opened at 0
    assert state(5) == (3, 0)  # c-fast fixed at day 5
    assert state(7) == (2, 1)  # c-late past its 7-day deadline
    assert state(9) == (2, 0)  # ...and fixed late at day 9
    assert state(26) == (3, 0)  # c-open (opened 20), h-exact and h-reopened within SLA
    assert state(27) == (2, 1)  # c-open past its deadline at 27
    assert state(31) == (1, 2)  # h-exact fixed at 30; h-reopened past SLA at 30
    assert state(40) == (1, 2)
    assert state(40)[1] == result.overdue_total


def test_no_findings_is_an_input_error(store: Store) -> None:
    """With no finding to judge, the analysis says so."""
    with pytest.raises(InputError, match="no findings"):
        analyze_sla(store, Window(day(0), AT))


def _sli_good_total(store: Store, at: datetime, sla_days: SlaDays) -> tuple[float, float]:
    """The patch_latency SLI's good and total events from long before the findings up to `at`."""
    indicator = get_indicator("patch_latency")
    params = indicator_params(indicator, {"sla_days": sla_days.model_dump()})
    start = day(-100)
    series = indicator.evaluate(store.conn, params, SliWindow(start, at, timedelta(days=1)))
    return float(series.good.sum()), float(series.total.sum())


@pytest.mark.parametrize(
    ("closed", "status", "fixed_in_time"),
    [
        (3, "reopened", 0),  # fixed in time, then reopened: open again, past SLA at day 30
        (
            45,
            "closed",
            0,
        ),  # reopened at some point and closed again at 45: late against the original deadline
        (3, "closed", 1),  # fixed in time and it held
    ],
)
def test_reopened_finding_gets_the_same_verdict_from_the_sli_and_the_analysis(
    store: Store, closed: float, status: str, fixed_in_time: int
) -> None:
    """A reopened finding counts the same in `seclo analyze sla` and the patch_latency SLI: no clock restart."""
    add_finding(store, "h", 0, closed, severity="high", status=status)
    at, days = day(60), SlaDays()
    total = analyze_sla(store, Window(day(-100), at), days).total()
    decided = total.within_sla + total.closed_late + total.open_past_sla
    assert (total.within_sla, decided) == (fixed_in_time, 1)
    assert _sli_good_total(store, at, days) == (fixed_in_time, 1)
    assert analyze_sla(store, Window(day(-100), at), days).restart_rule == REOPENED_RULE


def test_patch_latency_and_analysis_agree_on_a_mixed_population(store: Store) -> None:
    """Over the same findings, the SLI's share of good events equals the analysis's share fixed within SLA."""
    _findings(store)
    add_finding(store, "m-reopened-late", 0, 100, severity="medium", status="reopened")
    total = analyze_sla(store, Window(day(-100), AT), SlaDays()).total()
    decided = total.within_sla + total.closed_late + total.open_past_sla
    assert _sli_good_total(store, AT, SlaDays()) == (total.within_sla, decided)


def test_burn_down_equals_a_direct_count_at_every_grid_point(store: Store) -> None:
    """On an uneven grid (7-hour steps) starting after many findings opened, each point counts the open backlog."""
    rng = np.random.default_rng(7)
    findings = []
    for i in range(80):
        severity = ("critical", "high", "medium", "low")[i % 4]
        opened = float(rng.uniform(0, 60))
        closed = None if i % 5 == 0 else opened + float(rng.exponential(20))
        status = "reopened" if i % 11 == 0 else None
        add_finding(store, f"f{i}", opened, closed, severity=severity, status=status)
        findings.append((severity, day(opened), None if closed is None else day(closed), status))
    at = day(70)
    result = analyze_sla(store, Window(day(30), at), step=timedelta(hours=7))
    bd = result.burn_down
    days = SlaDays()
    assert bd.times[0] == day(30)
    assert bd.times[-1] <= at < bd.times[-1] + timedelta(hours=7)
    for i, t in enumerate(bd.times):
        within = past = 0
        for severity, opened_at, closed_at, status in findings:
            deadline = opened_at + timedelta(days=getattr(days, severity))
            fixed = closed_at if closed_at is not None and closed_at <= at and status != "reopened" else None
            still_open = fixed is None or fixed > t
            if opened_at <= t and still_open:
                within += t < deadline
                past += t >= deadline
        assert (int(bd.within_sla[i]), int(bd.past_sla[i])) == (within, past), t
