"""Incident KPIs: distributions per kind, lognormal fit recovering known medians, pending incidents counted."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from analytics_helpers import END, add_incident, day, generated_workspace

from seclo.analytics.interface import Window
from seclo.analytics.kpi import analyze_kpi, lognormal_fit
from seclo.errors import InputError
from seclo.generate.incidents import OUTAGE, SECURITY
from seclo.store import Store, open_store

WINDOW = Window(day(0), day(60))


def test_known_lognormal_median_is_recovered(store: Store) -> None:
    """2,000 outages detected after lognormal(median 8 min, sigma 1) minutes: median and fit within 8%."""
    rng = np.random.default_rng(3)
    delays = 8.0 * np.exp(rng.standard_normal(2000))
    for i, minutes in enumerate(delays.tolist()):
        start = day(i * 0.025)
        detected = start + timedelta(minutes=minutes)
        add_incident(store, f"i{i}", start, detected=detected, resolved=detected + timedelta(hours=1))
    result = analyze_kpi(store, WINDOW)
    ttd = result.get("outage", "time_to_detect")
    assert ttd.count == 2000
    # Standard error of ln(median) is about 1.25 * sigma / sqrt(n) = 2.8%; 8% is about three of them.
    assert ttd.median == pytest.approx(8.0, rel=0.08)
    assert ttd.median_fit == pytest.approx(8.0, rel=0.08)
    assert ttd.sdlog == pytest.approx(1.0, rel=0.08)
    lo, hi = ttd.median_fit_interval
    assert lo < ttd.median_fit < hi
    assert ttd.p90 > ttd.median
    assert int(ttd.bin_counts.sum()) == 2000
    assert np.all(np.diff(np.log10(ttd.bin_edges)) == pytest.approx(0.25))
    assert ttd.months == ("2024-01", "2024-02")
    assert int(ttd.monthly_count.sum()) == 2000
    repair = result.get("outage", "time_to_repair")
    assert repair.median == pytest.approx(60.0)


def test_unfinished_stages_are_pending_not_dropped(store: Store) -> None:
    """An incident detected but not yet acknowledged or resolved is pending for those measures."""
    add_incident(store, "a", day(1), kind="security", detected=day(2), acknowledged=day(2.5), resolved=day(4))
    add_incident(store, "b", day(1), kind="security", detected=day(3))
    add_incident(store, "c", day(1), kind="security", detected=day(3), resolved=day(70))  # after `at`
    result = analyze_kpi(store, WINDOW)
    assert result.get("security", "time_to_detect").count == 3
    ack = result.get("security", "time_to_acknowledge")
    assert (ack.count, ack.pending) == (1, 2)
    repair = result.get("security", "time_to_repair")
    assert (repair.count, repair.pending) == (1, 2)
    assert repair.median == pytest.approx(2 * 1440)
    assert result.get("outage", "time_to_detect").count == 0
    assert math.isnan(result.get("outage", "time_to_detect").median)


def test_lognormal_fit_is_the_mle() -> None:
    """The fit's meanlog and sdlog are the mean and the divisor-n deviation of the logarithms."""
    meanlog, sdlog, _ = lognormal_fit(np.array([1.0, math.e, math.e**2]))
    assert meanlog == pytest.approx(1.0)
    assert sdlog == pytest.approx(math.sqrt(2 / 3))


def test_no_incidents_is_an_input_error(store: Store) -> None:
    """No incidents in the window: the analysis says so."""
    with pytest.raises(InputError, match="no incidents"):
        analyze_kpi(store, WINDOW)


@pytest.mark.slow
def test_generated_medians_recover_the_generator_parameters(tmp_path: Path) -> None:
    """On a generated organisation, time to detect and acknowledge recover the generator's lognormal medians
    within four standard errors of a sample median (1.2533 sigma / sqrt n on the log scale)."""
    ws = generated_workspace(tmp_path / "ws", days=365)
    with open_store(ws.store_path) as store:
        result = analyze_kpi(store, Window(END - timedelta(days=730), END))
    for kind, model in (("outage", OUTAGE), ("security", SECURITY)):
        for measure, truth in (
            ("time_to_detect", model.time_to_detect),
            ("time_to_acknowledge", model.time_to_acknowledge),
        ):
            d = result.get(kind, measure)  # type: ignore[arg-type]
            tolerance = 4 * 1.2533 * truth.sigma / math.sqrt(d.count)
            assert d.count > 10
            assert abs(math.log(d.median_fit / truth.median)) < tolerance, (kind, measure, d.median_fit)
            assert abs(math.log(d.median / truth.median)) < tolerance, (kind, measure, d.median)
