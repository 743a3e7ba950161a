"""`seclo risk`: simulate the workspace's scenarios, compare security with outages, calibrate from history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seclo.cli import main
from seclo.store import open_store
from seclo.workspace import Workspace, init_workspace


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_simulate_the_starter_scenarios_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`seclo init` writes scenarios that simulate: the breach's treatment avoids loss, outages happen yearly."""
    init_workspace(tmp_path)
    code = _run(
        ["risk", "simulate", "--runs", "20000", "--seed", "3", "--format", "json", "-w", str(tmp_path)]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    by_name = {s["name"]: s for s in document["scenarios"]}
    assert set(by_name) == {"data-breach", "outages"}
    baseline, mfa = by_name["data-breach"]["variants"]
    assert mfa["name"] == "phishing-resistant-mfa"
    assert mfa["value"]["annual_cost"] == 120000
    assert mfa["summary"]["p_no_loss"] > baseline["summary"]["p_no_loss"]
    assert by_name["outages"]["variants"][0]["summary"]["p_no_loss"] < 0.001
    assert set(document["categories"]) == {"security", "outage"}


def test_compare_shows_breaches_rarer_but_larger(capsys: pytest.CaptureFixture[str]) -> None:
    """The comparison table states both per event and per year; a breach's median event is the larger."""
    assert _run(["risk", "compare", "--runs", "20000"]) == 0
    out = capsys.readouterr().out
    assert "Per event" in out
    assert "security-breach" in out
    assert "outages" in out
    assert "284,785" in out  # the IRIS median per breach
    assert "110,517" in out  # e^0.1 hours at 100,000 an hour


def test_same_seed_same_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs with the same seed print the same figures."""
    _run(["risk", "compare", "--runs", "5000", "--seed", "11", "--format", "json"])
    first = capsys.readouterr().out
    _run(["risk", "compare", "--runs", "5000", "--seed", "11", "--format", "json"])
    assert capsys.readouterr().out == first


def test_bad_scenario_file_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid scenario file is a usage error (exit 2) naming the file and field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: seclo/v1\nkind: RiskScenario\nmetadata: {name: b}\nspec: {preset: outage, colour: red}\n"
    )
    assert _run(["risk", "simulate", str(bad)]) == 2
    assert "bad.yaml:4: spec.colour" in capsys.readouterr().err


def test_calibrate_without_incidents_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Calibrating an empty store says why it cannot fit, with exit code 2."""
    init_workspace(tmp_path)
    open_store(Workspace.open(tmp_path).store_path).close()
    assert _run(["risk", "calibrate", "--kind", "security", "-w", str(tmp_path)]) == 2
    assert "only 0 security incident(s) with a recorded loss" in capsys.readouterr().err
