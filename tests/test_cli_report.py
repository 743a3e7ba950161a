"""`seclo report --html` and the demo's report: files written, exit codes, and what users see."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from seclo.cli import main
from seclo.store import open_store
from seclo.store.sql import run
from seclo.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent / "analytics"))
from analytics_helpers import HOUR, add_asset, add_deployment, add_finding, add_incident, day

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}, displayName: {title}}}
spec:
  description: Logins succeed.
  service: identity
  indicator:
    metadata: {{name: {name}}}
    spec:
      ratioMetric:
        rawType: success
        raw: {{metricSource: {{type: seclo, spec: {{indicator: {indicator}}}}}}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
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
    """A workspace with login SLOs (name, target) and 100 logins on 2024-03-01, 4 failing in the evening."""
    (root / "slos").mkdir(parents=True)
    for name, target in slos:
        text = SLO.format(name=name, title=f"{name} title", target=target, indicator=indicator)
        (root / "slos" / f"{name}.yaml").write_text(text, encoding="utf-8")
    with open_store(Workspace.open(root).store_path) as store:
        run(
            store.conn,
            """INSERT INTO auth_events (time, outcome)
SELECT TIMESTAMP '2024-03-01 00:00:00' + i * INTERVAL 14 MINUTE,
       CASE WHEN i BETWEEN 90 AND 93 THEN 'failure' ELSE 'success' END
FROM range(100) AS t(i)""",
        )
    return root


def test_report_is_written_and_exits_0_even_when_breached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command writes one HTML file with every objective and exits 0: the report is the product."""
    ws = _workspace(tmp_path / "ws", ("lenient", 0.95), ("strict", 0.99))
    out = tmp_path / "out" / "report.html"
    assert _run(["report", "--html", str(out), "--at", AT, "-w", str(ws)]) == 0
    assert f"wrote {out}: 2 objectives, 1 met, 1 breached" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "lenient title" in page
    assert "strict title" in page
    assert page.count("<svg") == 4
    assert "2024-03-02 00:00 UTC" in page
    assert "Logins succeed." in page


def test_at_in_the_past_is_the_reports_evaluation_time(tmp_path: Path) -> None:
    """--at before the evening's failures reports the strict objective as met, at that time."""
    ws = _workspace(tmp_path / "ws", ("strict", 0.99))
    out = tmp_path / "r.html"
    assert _run(["report", "--html", str(out), "--at", "2024-03-01T12:00:00+00:00", "-w", str(ws)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "2024-03-01 12:00 UTC" in page
    assert '<span class="badge met">met</span>' in page
    assert '<span class="badge breached">' not in page


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No store, a malformed --at, an unknown SLI or no --html each exit 2 with a message and no file."""
    out = tmp_path / "report.html"
    empty = tmp_path / "empty"
    (empty / "slos").mkdir(parents=True)
    assert _run(["report", "--html", str(out), "-w", str(empty)]) == 2
    assert "no store here yet" in capsys.readouterr().err
    good = _workspace(tmp_path / "good", ("login", 0.95))
    assert _run(["report", "--html", str(out), "--at", "yesterday", "-w", str(good)]) == 2
    assert "is not an ISO 8601 time" in capsys.readouterr().err
    typo = _workspace(tmp_path / "typo", ("typo", 0.99), indicator="login_sucess")
    assert _run(["report", "--html", str(out), "--at", AT, "-w", str(typo)]) == 2
    err = capsys.readouterr().err
    assert "unknown SLI 'login_sucess'" in err
    assert "Traceback" not in err
    assert _run(["report", "-w", str(good)]) == 2
    assert "Missing option '--html'" in capsys.readouterr().err
    assert not out.exists()


def test_report_replaces_an_existing_file(tmp_path: Path) -> None:
    """Writing over an old report replaces it whole."""
    ws = _workspace(tmp_path / "ws", ("login", 0.95))
    out = tmp_path / "report.html"
    out.write_text("old report", encoding="utf-8")
    assert _run(["report", "--html", str(out), "--at", AT, "-w", str(ws)]) == 0
    assert "old report" not in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "ws"]


def test_report_holds_the_analytics_of_the_stores_data(tmp_path: Path) -> None:
    """With findings, incidents and deployments in the store, the report opens the analytics with headline
    figures and has the persistence, SLA, KPI, DORA and per-team sections; the analyses without data are
    left out rather than failing the report."""
    ws = _workspace(tmp_path / "ws", ("login", 0.95))
    with open_store(Workspace.open(ws).store_path) as store:
        add_asset(store, "a1", "payments", "high", [0, 7, 14])
        add_finding(store, "f1", 0, 4, severity="critical")
        add_finding(store, "f2", 0, 20, severity="critical")
        add_finding(store, "f3", 10, None, severity="high", status="reopened")
    out = tmp_path / "report.html"
    assert _run(["report", "--html", str(out), "--at", AT, "-w", str(ws)]) == 0
    page = out.read_text(encoding="utf-8")
    assert 'id="analytics-headlines"' in page
    assert "flaw half-life" in page
    assert "fixed within SLA" in page
    assert 'id="persistence"' in page
    assert 'id="sla"' in page
    assert 'id="together"' in page
    assert 'id="dora"' not in page  # no deployments: no DORA section, and no error
    with open_store(Workspace.open(ws).store_path) as store:
        add_deployment(store, "d1", day(30), commits=(day(29),))
        add_incident(store, "i1", day(31), detected=day(31) + HOUR, resolved=day(31) + 3 * HOUR)
    assert _run(["report", "--html", str(out), "--at", AT, "-w", str(ws)]) == 0
    page = out.read_text(encoding="utf-8")
    assert 'id="dora"' in page
    assert 'id="kpi"' in page
    assert "DORA deployment frequency" in page
    assert "MTTR outage" in page
