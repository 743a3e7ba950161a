"""Statistics of annual losses, the value of a treatment and its visibility, and calibration from history."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from risk_helpers import scenario, write

from seclo.errors import InputError
from seclo.risk.calibrate import calibrate, scenario_yaml
from seclo.risk.distributions import Frequency, Lognormal
from seclo.risk.portfolio import run_portfolio, simulation_document
from seclo.risk.scenario import Variant, load_scenario
from seclo.risk.summary import exceedance_curve, summarise
from seclo.store import Store
from seclo.store.sql import run


def test_statistics_of_a_known_sample() -> None:
    """Quantiles, VaR, TVaR, P(no loss) and return levels of 0..99 worked by hand."""
    s = summarise(np.arange(100, dtype=np.float64))
    assert s.mean == 49.5
    assert s.median == 49.5
    assert s.var95 == pytest.approx(94.05)
    assert s.tvar95 == pytest.approx(97.0)  # mean of 95..99
    assert s.tvar99 == 99.0
    assert s.p_no_loss == 0.01
    assert s.return_levels[10] == pytest.approx(89.1)


def test_exceedance_curve_is_decreasing_from_the_share_of_loss_years() -> None:
    """P(loss > x) starts below the share of years with a loss and falls to 0 at the maximum."""
    losses = np.array([0, 0, 1, 10, 100, 1000], dtype=np.float64)
    curve = exceedance_curve(losses, points=4)
    assert curve.loss.tolist() == pytest.approx([1, 10, 100, 1000])
    assert curve.probability.tolist() == pytest.approx([3 / 6, 2 / 6, 1 / 6, 0])


def test_treatment_value_and_its_visibility() -> None:
    """Halving a frequent loss is worth about half the mean and shows within years; a rare one stays hidden."""
    frequent = scenario(
        "f",
        rate=50,
        meanlog=5,
        sdlog=0.5,
        treatments=(Variant("half", Frequency(25), Lognormal(5, 0.5), 100.0),),
    )
    rare = scenario(
        "r",
        rate=0.05,
        meanlog=12,
        sdlog=2.5,
        treatments=(Variant("half", Frequency(0.025), Lognormal(12, 2.5)),),
    )
    result = run_portfolio([frequent, rare], 100_000, 3)
    fast = result.scenarios[0].variants[1].value
    slow = result.scenarios[1].variants[1].value
    assert fast is not None
    assert slow is not None
    expected = 25 * math.exp(5 + 0.125)
    assert fast.loss_avoided == pytest.approx(expected, rel=0.02)
    assert fast.net_benefit == pytest.approx(fast.loss_avoided - 100)
    assert fast.return_on_cost == pytest.approx(fast.loss_avoided / 100)
    assert fast.years_to_see == 1
    # One treated year in two hundred differs from the untreated one: not visible in 10 years.
    ten = dict(slow.visibility)[10]
    assert ten < 0.6
    assert slow.years_to_see is None or slow.years_to_see >= 100


def test_portfolio_sums_years_and_document_has_no_nan() -> None:
    """The portfolio total is the per-year sum of the scenarios; the JSON document is strict JSON."""
    result = run_portfolio([scenario("a", category="security"), scenario("b", category="outage")], 10_000, 2)
    total = result.scenarios[0].losses + result.scenarios[1].losses
    assert result.total.mean == pytest.approx(total.mean())
    assert set(result.categories) == {"security", "outage"}
    document = json.loads(json.dumps(simulation_document(result), allow_nan=False))
    assert document["schema"] == "seclo.risk.simulation/v1"
    assert [s["name"] for s in document["scenarios"]] == ["a", "b"]
    doc = (Path(__file__).parents[2] / "docs" / "risk-model.md").read_text(encoding="utf-8")
    for key in (*document, *document["scenarios"][0]["variants"][0]["summary"]):
        assert f"`{key}`" in doc, key


def _add_incidents(store: Store, losses: np.ndarray, start: datetime, years: float) -> None:
    step = timedelta(days=365.25 * years / losses.size)
    for i, loss in enumerate(losses):
        run(
            store.conn,
            "INSERT INTO incidents (incident_id, kind, occurred_at, detected_at, loss) VALUES (?, 'security', ?, ?, ?)",
            [f"i{i}", start + i * step, start + i * step, float(loss)],
        )


def test_calibration_recovers_rate_and_lognormal(store: Store, tmp_path: Path) -> None:
    """400 losses from lognormal(11, 1.5) over 4 years: maximum likelihood, intervals around it, near the truth."""
    start = datetime(2020, 1, 1)
    losses = np.random.default_rng(7).lognormal(11, 1.5, 400)
    _add_incidents(store, losses, start, 4)
    run(
        store.conn,
        "INSERT INTO incidents (incident_id, kind, occurred_at, detected_at) VALUES ('x', 'security', ?, ?)",
        [start, start],
    )
    fit = calibrate(store, "security", start, start + timedelta(days=365.25 * 4))
    assert fit.events == 400
    assert fit.without_loss == 1
    assert fit.rate == pytest.approx(100)
    assert fit.rate_interval[0] < 100 < fit.rate_interval[1]
    logs = np.log(losses)
    assert fit.meanlog == pytest.approx(logs.mean())
    assert fit.sdlog == pytest.approx(logs.std())  # the MLE divides by n
    half_width = 1.966 * logs.std(ddof=1) / 20
    assert fit.meanlog_interval == pytest.approx(
        (logs.mean() - half_width, logs.mean() + half_width), rel=1e-3
    )
    assert fit.sdlog_interval[0] < fit.sdlog < fit.sdlog_interval[1]
    assert abs(fit.meanlog - 11) < 4 * 1.5 / 20
    assert abs(fit.sdlog - 1.5) < 0.15
    path = write(tmp_path, "fit.yaml", scenario_yaml("fitted", fit))
    loaded = load_scenario(path)
    assert loaded.baseline.severity.meanlog == pytest.approx(fit.meanlog, abs=1e-6)
    assert loaded.baseline.frequency.rate == pytest.approx(100, rel=1e-5)


def test_calibration_needs_loss_events(store: Store) -> None:
    """Without two incidents carrying a loss there is nothing to fit: an input error with a tip."""
    with pytest.raises(InputError, match="only 0 security incident"):
        calibrate(store, "security")
