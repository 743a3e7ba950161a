"""Experiment SLIs: detection coverage and experiment time to detect and remediate, from experiment_runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from seclo.sli import Window, get_indicator, indicator_params
from seclo.store import Store

T0 = datetime(2026, 11, 23, 10, 0, 0)
RUNS = [
    # run_id, outcome, seconds to detect, seconds from detection to remediation
    ("r1", "passed", 0.5, 2.0),
    ("r2", "remediation_missed", 90.0, None),
    ("r3", "detection_missed", None, None),
    ("r4", "aborted", None, None),
    ("r5", "passed", None, None),  # a run without a detection probe
]


def _record(store: Store) -> None:
    for n, (run_id, outcome, detect, remediate) in enumerate(RUNS):
        injected = T0 + timedelta(minutes=n)
        detected = None if detect is None else injected + timedelta(seconds=detect)
        remediated = (
            None if remediate is None or detected is None else detected + timedelta(seconds=remediate)
        )
        store.conn.execute(
            "INSERT INTO experiment_runs (run_id, experiment, injected_at, detected_at, remediated_at, outcome) "
            "VALUES (?, 'e', ?, ?, ?, ?)",
            [run_id, injected, detected, remediated, outcome],
        ).fetchall()


def _totals(store: Store, name: str, **params: object) -> tuple[float, float]:
    indicator = get_indicator(name)
    window = Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1), timedelta(hours=1))
    series = indicator.evaluate(store.conn, indicator_params(indicator, params), window)
    return float(series.good.sum()), float(series.total.sum())


def test_detection_coverage_counts_watched_runs_and_ignores_aborted_ones(store: Store) -> None:
    """Detected runs are good, a missed detection is bad, aborted runs and runs without detection are not counted."""
    _record(store)
    assert _totals(store, "detection_coverage") == (2.0, 3.0)


def test_experiment_time_to_detect_applies_the_target(store: Store) -> None:
    """With a 1-minute target the 0.5 s detection is good, the 90 s one and the missed one are bad."""
    _record(store)
    assert _totals(store, "experiment_time_to_detect", target="1m") == (1.0, 3.0)
    assert _totals(store, "experiment_time_to_detect", target="2m") == (2.0, 3.0)


def test_experiment_time_to_remediate_counts_detected_runs_only(store: Store) -> None:
    """Remediated in 2 s is good; detected and never remediated is bad once past the target."""
    _record(store)
    assert _totals(store, "experiment_time_to_remediate", target="1m") == (1.0, 2.0)
