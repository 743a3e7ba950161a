"""`seclo slo status` and the demo's SLO table: exit codes, formats and what users see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pinned_clock import PINNED_NOW

from seclo.cli import main
from seclo.demo import run_demo
from seclo.store import open_store
from seclo.store.sql import run
from seclo.workspace import Workspace

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: identity
  indicator:
    metadata: {{name: {name}}}
    spec:
      ratioMetric:
        rawType: success
        raw: {{metricSource: {{type: seclo, spec: {{indicator: {indicator}}}}}}}
  timeWindow: [{{duration: 28d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: {target}}}]
"""
AT = "2024-03-02T00:00:00Z"


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _workspace(root: Path, *slos: tuple[str, float], indicator: str = "login_success") -> Path:
    """A workspace with the given (name, target) login SLOs and 100 logins on 2024-03-01, 4 failing in the evening."""
    (root / "slos").mkdir(parents=True)
    for name, target in slos:
        (root / "slos" / f"{name}.yaml").write_text(SLO.format(name=name, target=target, indicator=indicator))
    with open_store(Workspace.open(root).store_path) as store:
        run(
            store.conn,
            """INSERT INTO auth_events (time, outcome)
SELECT TIMESTAMP '2024-03-01 00:00:00' + i * INTERVAL 14 MINUTE,
       CASE WHEN i BETWEEN 90 AND 93 THEN 'failure' ELSE 'success' END
FROM range(100) AS t(i)""",
        )
    return root


def test_all_met_exits_0_and_shows_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """When every objective is met the command exits 0 and prints attainment and budget left."""
    ws = _workspace(tmp_path, ("login", 0.95))
    assert _run(["slo", "status", "--at", AT, "-w", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "login" in out
    assert "met" in out
    assert "96.00%" in out
    assert "20%" in out


def test_breached_objective_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One breached objective beside a met one makes the exit code 1."""
    ws = _workspace(tmp_path, ("lenient", 0.95), ("strict", 0.99))
    assert _run(["slo", "status", "--at", AT, "-w", str(ws)]) == 1
    assert "breached" in capsys.readouterr().out


def test_at_in_the_past_ignores_later_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--at before the evening's failures judges only the logins until then, so the strict SLO is met."""
    ws = _workspace(tmp_path, ("strict", 0.99))
    assert _run(["slo", "status", "--at", "2024-03-01T12:00:00+00:00", "-w", str(ws)]) == 0
    assert "100.00%" in capsys.readouterr().out


def test_no_data_is_shown_but_does_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An objective without data is listed as no_data and leaves the exit code 0."""
    ws = _workspace(tmp_path, ("mfa", 0.98), indicator="mfa_coverage")
    assert _run(["slo", "status", "--at", AT, "-w", str(ws)]) == 0
    assert "no_data" in capsys.readouterr().out


def test_json_output_is_the_documented_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints the seclo.slo.status/v1 document with each objective's state and budget."""
    ws = _workspace(tmp_path, ("strict", 0.99))
    assert _run(["slo", "status", "--at", AT, "--format", "json", "-w", str(ws)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "seclo.slo.status/v1"
    assert document["at"] == "2024-03-02T00:00:00Z"
    (slo,) = document["slos"]
    assert slo["state"] == "breached"
    assert slo["budget"]["consumed"] == 4.0
    assert slo["budget"]["unit"] == "events"


def test_bad_input_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown SLI, a malformed --at and a workspace without a store each exit 2 with a message."""
    ws = _workspace(tmp_path / "typo", ("typo", 0.99), indicator="login_sucess")
    assert _run(["slo", "status", "--at", AT, "-w", str(ws)]) == 2
    err = capsys.readouterr().err
    assert "typo.yaml: SLO 'typo': unknown SLI 'login_sucess'" in err
    assert "Traceback" not in err
    good = _workspace(tmp_path / "good", ("login", 0.95))
    assert _run(["slo", "status", "--at", "yesterday", "-w", str(good)]) == 2
    assert "is not an ISO 8601 time" in capsys.readouterr().err
    empty = tmp_path / "empty"
    (empty / "slos").mkdir(parents=True)
    assert _run(["slo", "status", "-w", str(empty)]) == 2
    assert "no store here yet" in capsys.readouterr().err


def test_demo_ends_with_a_breached_slo_and_a_firing_page(tmp_path: Path) -> None:
    """On the generated organisation the starter SecLOs show a breach and the SSO degradation pages."""
    result = run_demo(tmp_path / "demo", days=3, seed=11, end=PINNED_NOW)
    states = {r.name: r.state for r in result.slos}
    assert set(states) >= {"login-success", "mfa-coverage", "unexpected-public-ports"}
    assert "breached" in states.values()
    login = next(r for r in result.slos if r.name == "login-success")
    assert login.status is not None
    assert "page" in {a.window.severity for a in login.status.firing}


def test_demo_command_prints_the_slo_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`seclo demo` ends with the SecLOs table, a firing alert among it, and exits 0."""
    assert _run(["demo", "--days", "3", "--seed", "11", "-w", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "SecLOs" in out
    assert "login-success" in out
    assert "page" in out
