"""Patch SLA analysis: per-severity counts, the overdue list, the burn-down and the reopened-finding rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_helpers import add_finding, day

from seclo.analytics.interface import Window
from seclo.analytics.sla import analyze_sla
from seclo.errors import InputError
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
