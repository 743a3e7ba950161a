"""Risk tolerance: a curve of accepted exceedance probabilities, checked against the portfolio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from risk_helpers import scenario, write

from seclo.errors import ConfigError
from seclo.risk.portfolio import run_portfolio, simulation_document
from seclo.risk.scenario import load_scenarios, load_tolerance
from seclo.risk.summary import Exceedance
from seclo.risk.tolerance import Tolerance, check_tolerance

TOLERANCE = """\
apiVersion: seclo/v1
kind: RiskTolerance
metadata: {name: appetite}
spec:
  points:
    - {loss: 1.0e3, probability: 0.5}
    - {loss: 1.0e5, probability: 0.005}
"""


def test_tolerance_interpolates_on_log_log_axes() -> None:
    """Half way between 1e3 (50%) and 1e5 (0.5%) on a log axis, 1e4 is tolerated at 5%; outside, nothing."""
    tolerance = Tolerance("t", np.array([1e3, 1e5]), np.array([0.5, 0.005]))
    assert tolerance.tolerated(np.array([1e4]))[0] == pytest.approx(0.05)
    assert np.isnan(tolerance.tolerated(np.array([10.0, 1e6]))).all()


def test_check_finds_the_worst_excess_and_passes_a_curve_below() -> None:
    """A curve above the tolerance is reported where the ratio is worst; one below passes."""
    tolerance = Tolerance("t", np.array([1e3, 1e5]), np.array([0.5, 0.005]))
    above = Exceedance(np.array([1e3, 1e4, 1e5]), np.array([0.4, 0.2, 0.004]))
    breach = check_tolerance(tolerance, above)
    assert breach is not None
    assert breach.loss == pytest.approx(1e4)
    assert breach.probability == pytest.approx(0.2)
    assert breach.tolerated == pytest.approx(0.05)
    below = Exceedance(np.array([1e3, 1e4, 1e5]), np.array([0.4, 0.04, 0.004]))
    assert check_tolerance(tolerance, below) is None


def test_tolerance_file_is_read_beside_scenarios(tmp_path: Path) -> None:
    """A RiskTolerance in risk/ is not a scenario; the portfolio is checked against it and JSON says so."""
    write(tmp_path, "tolerance.yaml", TOLERANCE)
    write(
        tmp_path,
        "s.yaml",
        "apiVersion: seclo/v1\nkind: RiskScenario\nmetadata: {name: s}\nspec: {preset: outage}\n",
    )
    assert [s.name for s in load_scenarios([tmp_path])] == ["s"]
    tolerance = load_tolerance([tmp_path])
    assert tolerance is not None
    assert tolerance.name == "appetite"
    # Outages cost about 110k each, ten a year: far above 0.5% a year above 100k.
    document = simulation_document(run_portfolio(load_scenarios([tmp_path]), 5000, 1, tolerance=tolerance))
    assert document["tolerance"]["within"] is False
    assert document["tolerance"]["worst"]["probability"] > document["tolerance"]["worst"]["tolerated"]
    json.dumps(document, allow_nan=False)
    quiet = run_portfolio([scenario(rate=0.001, meanlog=5, sdlog=0.5)], 5000, 1, tolerance=tolerance)
    assert quiet.tolerance_breach is None


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ("[{loss: 1.0e5, probability: 0.1}, {loss: 1.0e3, probability: 0.01}]", "increasing losses"),
        ("[{loss: 1.0e3, probability: 0.01}, {loss: 1.0e5, probability: 0.1}]", "do not increase"),
        ("[{loss: 1.0e3, probability: 0.01}]", "at least 2"),
    ],
)
def test_invalid_tolerance_names_file_and_path(tmp_path: Path, points: str, expected: str) -> None:
    """A tolerance curve must go down and to the right; mistakes name the file and path."""
    text = "apiVersion: seclo/v1\nkind: RiskTolerance\nmetadata: {name: t}\nspec:\n  points: " + points + "\n"
    write(tmp_path, "t.yaml", text)
    with pytest.raises(ConfigError, match=rf"t\.yaml:\d+: spec(\.points)?: .*{expected}"):
        load_tolerance([tmp_path])
