"""DORA metrics: classification at every threshold boundary, incident linking, change failure rate bounds."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from analytics_helpers import HOUR, add_deployment, add_incident, day
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seclo.analytics.dora import analyze_dora
from seclo.analytics.dora_levels import LEVELS, METRICS, TABLES, classify
from seclo.analytics.interface import Window
from seclo.errors import InputError
from seclo.store import Store, open_store
from seclo.store.sql import run

WINDOW = Window(day(0), day(30))
BOUNDARIES = [
    (table, metric, t) for table, metrics in TABLES.items() for metric in METRICS for t in metrics[metric]
]


@pytest.mark.parametrize(
    ("table", "metric", "threshold"),
    BOUNDARIES,
    ids=[f"{t}-{m}-{th.level}" for t, m, th in BOUNDARIES],
)
def test_classification_at_every_boundary(table: str, metric: str, threshold: object) -> None:
    """Just on the good side of a bound reaches the level; just on the bad side does not; the bound itself
    follows the table's wording (inclusive or strict)."""
    th = TABLES[table][metric][LEVELS.index(threshold.level)]  # type: ignore[attr-defined,index]
    eps = th.bound * 1e-9
    better, worse = (
        (th.bound + eps, th.bound - eps) if th.higher_is_better else (th.bound - eps, th.bound + eps)
    )
    rank = LEVELS.index
    assert rank(classify(table, metric, better)) <= rank(th.level)  # type: ignore[arg-type]
    assert rank(classify(table, metric, worse)) > rank(th.level)  # type: ignore[arg-type]
    at_bound = classify(table, metric, th.bound)  # type: ignore[arg-type]
    assert (rank(at_bound) <= rank(th.level)) == th.inclusive


@pytest.mark.parametrize(
    ("table", "metric", "value", "level"),
    [
        ("2019", "deployment_frequency", 3.0, "Elite"),
        ("2019", "deployment_frequency", 1.0, "High"),  # once a day is not "multiple per day"
        ("2019", "deployment_frequency", 1 / 7, "High"),
        ("2019", "deployment_frequency", 0.1, "Medium"),
        ("2019", "deployment_frequency", 0.01, "Low"),
        ("2019", "lead_time", 23.9, "Elite"),
        ("2019", "lead_time", 24.0, "High"),
        ("2019", "lead_time", 168.0, "High"),
        ("2019", "lead_time", 169.0, "Medium"),
        ("2019", "lead_time", 2000.0, "Low"),
        ("2019", "change_failure_rate", 0.15, "Elite"),
        ("2019", "change_failure_rate", 0.30, "Low"),  # the table's gap (16-45%) falls to Low
        ("2019", "time_to_restore", 0.5, "Elite"),
        ("2019", "time_to_restore", 12.0, "High"),
        ("2019", "time_to_restore", 48.0, "Low"),  # the table's gap (1 day to 1 week) falls to Low
        ("2023", "change_failure_rate", 0.05, "Elite"),
        ("2023", "change_failure_rate", 0.08, "High"),
        ("2023", "change_failure_rate", 0.12, "Medium"),
        ("2023", "change_failure_rate", 0.2, "Low"),
        ("2023", "time_to_restore", 48.0, "Medium"),
        ("2023", "time_to_restore", 168.0, "Medium"),
        ("2023", "time_to_restore", 200.0, "Low"),
    ],
)
def test_levels_read_like_the_published_tables(table: str, metric: str, value: float, level: str) -> None:
    """Typical values land where a reader of the State of DevOps tables expects them."""
    assert classify(table, metric, value) == level  # type: ignore[arg-type]


def test_no_value_has_no_level() -> None:
    """A metric without data (NaN) is not classified."""
    assert classify("2019", "lead_time", math.nan) is None


def test_figures_and_incident_linking(store: Store) -> None:
    """Deployments, lead time, change failures (each deployment once), rework and time to restore by hand."""
    add_deployment(store, "d1", day(1), commits=(day(1) - 2 * HOUR, day(1) - 4 * HOUR))
    add_deployment(store, "d2", day(2), commits=(day(2) - 10 * HOUR,))
    add_deployment(store, "d3", day(3) + HOUR, result="failure")  # 25 hours after d2: not rework
    add_deployment(store, "d4", day(3) + 3 * HOUR, commits=(day(3),))  # rework: follows failed d3
    add_deployment(store, "s1", day(4), env="staging")  # not production: ignored
    add_deployment(store, "o1", day(5), service="other", team="data")
    # Two outages after d2 within a day: d2 fails once. One names d1 explicitly.
    add_incident(store, "i1", day(2) + HOUR, resolved=day(2) + 3 * HOUR)
    add_incident(store, "i2", day(2) + 5 * HOUR, resolved=day(2) + 9 * HOUR)
    add_incident(store, "i3", day(10), deploy_id="d1", resolved=day(10) + HOUR)
    add_incident(store, "i4", day(9))  # 4 days after d4: outside the window, unresolved
    add_incident(store, "sec", day(2) + HOUR, kind="security")  # not an outage: ignored by default
    result = analyze_dora(store, WINDOW)
    all_ = result.overall()
    assert (all_.deployments, all_.successful) == (5, 4)
    assert all_.change_failures == 3  # d1 (named), d2 (linked twice, counted once), d3 (failed)
    assert all_.change_failure_rate == pytest.approx(3 / 5)
    assert all_.rework == 2  # d2 follows d1 (failed) within 24 hours; d4 follows d3
    assert all_.deployment_frequency == pytest.approx(4 / 30)
    assert all_.lead_time_hours == pytest.approx(3.5)  # commits 2, 4, 10 and 3 hours before their deploy
    assert (all_.incidents_restored, all_.incidents_unresolved) == (3, 1)
    assert all_.time_to_restore_hours == pytest.approx(2.0)
    api = next(f for f in result.by("service") if f.key == "api")
    assert (api.deployments, api.change_failures) == (4, 3)
    assert [f.key for f in result.by("team")] == ["data", "web"]
    assert [f.key for f in result.by("month")] == ["2024-01"]
    assert result.by("month")[0].days == pytest.approx(30)


def test_link_window_is_configurable(store: Store) -> None:
    """An outage 30 hours after a deployment is blamed on it only with a window of 30 hours or more."""
    add_deployment(store, "d1", day(1))
    add_incident(store, "i1", day(1) + 30 * HOUR)
    assert analyze_dora(store, WINDOW).overall().change_failures == 0
    wide = analyze_dora(store, WINDOW, link_window=timedelta(hours=30))
    assert wide.overall().change_failures == 1


def test_no_deployments_is_an_input_error(store: Store) -> None:
    """Without production deployments there is nothing to measure, and the analysis says so."""
    with pytest.raises(InputError, match="no production deployments"):
        analyze_dora(store, WINDOW)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    deploys=st.lists(st.tuples(st.floats(0, 29), st.booleans()), min_size=1, max_size=12),
    incidents=st.lists(st.floats(0, 29.9), max_size=25),
)
def test_change_failure_rate_never_exceeds_one(
    deploys: list[tuple[float, bool]], incidents: list[float]
) -> None:
    """However many incidents follow however few deployments, the change failure rate stays within [0, 1]."""
    with open_store(None) as store:
        for i, (when, ok) in enumerate(deploys):
            add_deployment(store, f"d{i}", day(when), result="success" if ok else "failure")
        for i, when in enumerate(incidents):
            add_incident(store, f"i{i}", day(when), deploy_id="d0" if i % 3 == 0 else None)
        run(store.conn, "CHECKPOINT")
        result = analyze_dora(store, WINDOW, link_window=timedelta(days=30))
        for figures in result.figures:
            assert 0 <= figures.change_failures <= figures.deployments
            assert 0.0 <= figures.change_failure_rate <= 1.0


def test_per_service_per_month_splits_each_service_by_month(store: Store) -> None:
    """With service_month, each service gets its own figures for each month, summing to the service's."""
    window = Window(day(0), day(60))  # January and February 2024
    add_deployment(store, "a1", day(2), service="api", commits=(day(2) - 2 * HOUR,))
    add_deployment(store, "a2", day(40), service="api", result="failure", commits=(day(40) - 10 * HOUR,))
    add_deployment(store, "a3", day(41), service="api", commits=(day(41) - 6 * HOUR,))
    add_deployment(store, "w1", day(5), service="web", team="front")
    add_incident(store, "i1", day(2) + HOUR, service="api", resolved=day(2) + 4 * HOUR)
    result = analyze_dora(store, window, service_month=True)
    cells = {f.key: f for f in result.by("service_month")}
    assert sorted(cells) == ["api/2024-01", "api/2024-02", "web/2024-01"]
    jan, feb = cells["api/2024-01"], cells["api/2024-02"]
    assert (jan.deployments, jan.change_failures, jan.time_to_restore_hours) == (1, 1, 3.0)
    assert (feb.deployments, feb.successful, feb.change_failures, feb.lead_time_hours) == (2, 1, 1, 6.0)
    assert jan.days == 31
    assert feb.days == 29
    assert feb.deployment_frequency == pytest.approx(1 / 29)
    api = next(f for f in result.by("service") if f.key == "api")
    assert jan.deployments + feb.deployments == api.deployments
    # Without the flag the other scopes are unchanged and no service-month figures are computed.
    plain = analyze_dora(store, window)
    assert plain.by("service_month") == ()
    assert [repr(f) for f in plain.figures] == [repr(f) for f in result.figures if f.scope != "service_month"]


def test_a_service_split_evenly_between_teams_belongs_to_the_first_team_name(store: Store) -> None:
    """Two teams deploy a service equally often: its outages count for the first team by name, every time (the
    time to restore per team must not change between two runs on the same data)."""
    add_deployment(store, "z1", day(1), team="zeta")
    add_deployment(store, "a1", day(2), team="alpha")
    add_deployment(store, "z2", day(3), team="zeta")
    add_deployment(store, "a2", day(4), team="alpha")
    add_incident(store, "i1", day(10), resolved=day(10) + 5 * HOUR)
    for _ in range(5):
        teams = {f.key: f for f in analyze_dora(store, WINDOW).by("team")}
        assert (teams["alpha"].incidents_restored, teams["alpha"].time_to_restore_hours) == (1, 5.0)
        assert teams["zeta"].incidents_restored == 0
