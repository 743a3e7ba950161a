"""Scenario files: presets, the ways of giving a severity, treatments, and errors that point into the file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from risk_helpers import write

from seclo.errors import ConfigError
from seclo.risk.scenario import load_scenario, load_scenarios

HEAD = "apiVersion: seclo/v1\nkind: RiskScenario\nmetadata: {name: s}\nspec:\n"


def test_preset_with_override_and_treatment(tmp_path: Path) -> None:
    """A preset fills what the file leaves out; treatments scale the baseline's rate or losses."""
    path = write(
        tmp_path,
        "s.yaml",
        HEAD
        + "  preset: iris-2022-breach\n  frequency: {annualProbability: 0.25}\n"
        + "  treatments:\n    - {name: edr, annualCost: 1000, frequencyFactor: 0.5, severityFactor: 0.1}\n",
    )
    s = load_scenario(path)
    assert s.category == "security"
    assert s.baseline.frequency.rate == pytest.approx(-math.log(0.75))
    assert s.baseline.severity.meanlog == pytest.approx(12.55949)
    (edr,) = s.treatments
    assert edr.frequency.rate == pytest.approx(-math.log(0.75) / 2)
    assert edr.severity.median == pytest.approx(s.baseline.severity.median / 10)
    assert edr.annual_cost == 1000


@pytest.mark.parametrize(
    ("severity", "median"),
    [
        ("{p05: 1000, p95: 100000}", 10_000),
        ("{low: 1000, high: 100000}", 10_000),
        ("{p50: 5000, p95: 50000}", 5_000),
        ("{meanlog: 5, sdlog: 1}", math.exp(5)),
        ("{meanlog: 0.1, sdlog: 1.7, unit: hours, costPerUnit: 1000}", 1000 * math.exp(0.1)),
    ],
)
def test_every_way_of_giving_a_severity(tmp_path: Path, severity: str, median: float) -> None:
    """Each severity form gives the lognormal with the intended median."""
    path = write(tmp_path, "s.yaml", HEAD + f"  frequency: {{rate: 1}}\n  severity: {severity}\n")
    assert load_scenario(path).baseline.severity.median == pytest.approx(median)


def test_inconsistent_p50_is_a_warning(tmp_path: Path) -> None:
    """A p50 far from the geometric mean of p05 and p95 is reported, and the interval is used."""
    path = write(
        tmp_path,
        "s.yaml",
        HEAD + "  frequency: {rate: 1}\n  severity: {p05: 1000, p50: 50000, p95: 100000}\n",
    )
    s = load_scenario(path)
    assert s.baseline.severity.median == pytest.approx(10_000)
    (warning,) = s.warnings
    assert "p50 50,000 disagrees with the median 10,000" in warning


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("  frequency: {rate: 1}\n", r"s\.yaml:5: spec: expected frequency and severity, or a preset"),
        (
            "  preset: nope\n",
            r"s\.yaml:5: spec\.preset: expected one of the presets iris-2022-breach, .* \(got 'nope'\)",
        ),
        (
            "  frequency: {rate: 1, annualProbability: 0.1}\n  severity: {p05: 1, p95: 2}\n",
            r"s\.yaml:5: spec\.frequency: .*expected rate or annualProbability",
        ),
        (
            "  frequency: {rate: 1}\n  severity: {p05: 1, p95: 2, meanlog: 1, sdlog: 1}\n",
            r"spec\.severity: .*expected one way to give the severity",
        ),
        ("  frequency: {rate: -1}\n  severity: {p05: 1, p95: 2}\n", r"spec\.frequency\.rate: "),
        (
            "  frequency: {rate: 1}\n  severity: {p05: 1, p95: 2}\n  colour: red\n",
            r"s\.yaml:7: spec\.colour: ",
        ),
    ],
)
def test_invalid_files_name_file_line_and_path(tmp_path: Path, spec: str, expected: str) -> None:
    """Mistakes stop loading with the file, line and YAML path."""
    path = write(tmp_path, "s.yaml", HEAD + spec)
    with pytest.raises(ConfigError, match=expected):
        load_scenario(path)


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    """Two files defining the same scenario name are refused, naming both."""
    body = HEAD + "  preset: outage\n"
    write(tmp_path, "a.yaml", body)
    write(tmp_path, "b.yaml", body)
    with pytest.raises(ConfigError, match=r"b\.yaml: scenario 's' is already defined in .*a\.yaml"):
        load_scenarios([tmp_path])
