"""Kaplan-Meier flaw persistence: censoring, a hand-computed example and agreement with lifelines on raw rows."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from analytics_helpers import END, add_asset, add_finding, day, generated_workspace
from lifelines import KaplanMeierFitter

from seclo.analytics.persistence import SCAN_BUCKETS, analyze_persistence, durations_sql
from seclo.errors import InputError
from seclo.store import Store, open_store

AT = day(10)


def _small(store: Store) -> None:
    add_finding(store, "A", 0, 2)  # closed after 2 days
    add_finding(store, "B", 0, 4)
    add_finding(store, "E", 0, 4)
    add_finding(store, "C", 7, None)  # still open: censored at 3 days
    add_finding(store, "D", 1, 7)  # 6 days
    add_finding(store, "F", 2, 20)  # closed after AT: censored at 8 days
    add_finding(store, "G", 0, 1, status="false_positive")  # never counted
    add_finding(store, "H", 12, None)  # opened after AT: not yet there


def test_hand_computed_example(store: Store) -> None:
    """Six findings give the survival a hand computes: 5/6 after 2 days, 5/12 after 4, 5/24 after 6."""
    _small(store)
    result = analyze_persistence(store, AT)
    curve = result.overall()
    assert (curve.findings, curve.closed, curve.censored) == (6, 4, 2)
    assert result.not_counted == 1
    got = curve.at_days(np.array([0.0, 1.9, 2.0, 3.0, 4.0, 6.0, 8.0]))
    assert got == pytest.approx([1, 1, 5 / 6, 5 / 6, 5 / 12, 5 / 24, 5 / 24])
    # 25% closed when the share still open first drops to 75% or below (day 4), half at 4, 75% at 6.
    assert [q.value for q in curve.quantiles] == [4.0, 4.0, 6.0]
    assert curve.half_life == 4.0
    for q in curve.quantiles:
        assert q.lower <= q.value <= q.upper


def test_still_open_findings_raise_the_curve(store: Store) -> None:
    """Adding findings still open at the evaluation time keeps more at risk: survival rises, never falls."""
    _small(store)
    before = analyze_persistence(store, AT).overall()
    add_finding(store, "X", 0, None)
    add_finding(store, "Y", 0, None, status="reopened")
    after = analyze_persistence(store, AT).overall()
    grid = np.linspace(0, 10, 101)
    assert (after.at_days(grid) >= before.at_days(grid) - 1e-12).all()
    assert after.at_days(np.array([6.0]))[0] > before.at_days(np.array([6.0]))[0]
    assert (after.findings, after.censored) == (8, 4)
    # Dropping open findings instead would claim 75% closed by day 6; censoring says not yet.
    assert after.quantiles[2].value > before.quantiles[2].value


def test_reopened_finding_is_open_whatever_closed_at_says(store: Store) -> None:
    """A reopened finding keeps its clock running from opened_at: censored at `at`, not closed."""
    add_finding(store, "R", 0, 2, status="reopened")
    curve = analyze_persistence(store, AT).overall()
    assert (curve.closed, curve.censored) == (0, 1)
    assert math.isinf(curve.half_life)


def test_groups_by_severity_team_criticality_and_scan_frequency(store: Store) -> None:
    """Each finding lands in its severity, its asset's latest team and criticality, and its scan bucket."""
    add_asset(store, "weekly", "web", "high", [7.0 * i for i in range(10)])
    add_asset(store, "monthly", "data", "low", [0, 30.4, 60.8])
    add_finding(store, "w1", 0, 1, severity="critical", asset="weekly")
    add_finding(store, "m1", 0, 5, severity="low", asset="monthly")
    add_finding(store, "n1", 0, 3, severity="low", asset="nowhere")
    result = analyze_persistence(store, day(100))
    groups = {(c.dimension, c.group): c.findings for c in result.curves}
    assert groups[("severity", "critical")] == 1
    assert groups[("severity", "low")] == 2
    assert groups[("team", "web")] == 1
    assert groups[("team", "(unknown)")] == 1
    assert groups[("criticality", "low")] == 1
    assert groups[("scan_frequency", "52-260 scans/yr")] == 1
    assert groups[("scan_frequency", "12-52 scans/yr")] == 1
    assert [c.group for c in result.by("severity")] == ["critical", "low"]


def test_no_findings_is_an_input_error(store: Store) -> None:
    """An empty store says there is nothing to analyse instead of drawing an empty curve."""
    with pytest.raises(InputError, match="no findings"):
        analyze_persistence(store, AT)


@pytest.mark.slow
def test_weighted_unique_durations_match_lifelines_on_raw_rows(tmp_path: Path) -> None:
    """On a generated organisation, each curve equals lifelines fitted on one row per finding."""
    ws = generated_workspace(tmp_path / "ws")
    with open_store(ws.store_path) as store:
        result = analyze_persistence(store, END)
        raw = store.conn.execute(f"SELECT * FROM ({durations_sql()}) WHERE hours >= 0", {"at": END}).df()
    assert result.overall().findings == len(raw) > 1000
    assert 0 < result.overall().censored < len(raw)
    # The generator scans hosts daily, weekly, monthly or quarterly: the SOSS buckets are all there.
    buckets = {c.group: c.findings for c in result.by("scan_frequency")}
    assert {label for label, _ in SCAN_BUCKETS} <= set(buckets)
    assert all(buckets[label] > 50 for label, _ in SCAN_BUCKETS)
    for dimension, column in (
        ("all", None),
        ("severity", "severity"),
        ("team", "team"),
        ("scan_frequency", "scan_frequency"),
    ):
        for curve in result.by(dimension):  # type: ignore[arg-type]
            rows = raw if column is None else raw[raw[column] == curve.group]
            fitter = KaplanMeierFitter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitter.fit(rows["hours"] / 24.0, event_observed=rows["observed"])
            expected = fitter.survival_function_.iloc[:, 0].to_numpy()
            assert curve.times == pytest.approx(fitter.survival_function_.index.to_numpy())
            assert curve.survival == pytest.approx(expected, rel=1e-9)
            band = fitter.confidence_interval_survival_function_
            assert curve.lower == pytest.approx(band.iloc[:, 0].to_numpy(), rel=1e-9, nan_ok=True)
            assert curve.half_life == pytest.approx(fitter.median_survival_time_)


def test_assets_of_one_team_with_different_criticality_share_the_team_curve(store: Store) -> None:
    """The team curve holds every finding of the team's assets, whatever their criticality or scan cadence."""
    add_asset(store, "w1", "web", "high", [7.0 * i for i in range(10)])
    add_asset(store, "w2", "web", "low", [0, 30.4, 60.8])
    add_asset(store, "d1", "data", "high", [7.0 * i for i in range(10)])
    add_finding(store, "a", 0, 2, asset="w1")
    add_finding(store, "b", 0, 4, asset="w2")
    add_finding(store, "c", 0, None, asset="w2")
    add_finding(store, "d", 0, 6, asset="d1")
    result = analyze_persistence(store, day(100))
    web = next(c for c in result.by("team") if c.group == "web")
    assert (web.findings, web.closed, web.censored) == (3, 2, 1)
    assert web.at_days(np.array([3.0, 5.0])) == pytest.approx([2 / 3, 1 / 3])
    high = next(c for c in result.by("criticality") if c.group == "high")
    assert (high.findings, high.closed) == (2, 2)
    assert sum(c.findings for c in result.by("scan_frequency")) == 4


def test_a_read_only_store_is_analysed_and_left_as_it_was(tmp_path: Path) -> None:
    """`seclo analyze` opens the store read-only: the analysis still works there and leaves no table behind."""
    path = tmp_path / "store.duckdb"
    with open_store(path) as store:
        add_asset(store, "a1", "web", "high", [0, 7])
        _small(store)
        expected = analyze_persistence(store, AT).overall()
        tables = store.conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    with open_store(path, read_only=True) as store:
        curve = analyze_persistence(store, AT).overall()
        assert store.conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall() == tables
    assert (curve.findings, curve.closed) == (expected.findings, expected.closed) == (6, 4)
    assert curve.survival == pytest.approx(expected.survival)
