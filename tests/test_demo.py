"""`seclo demo` and `seclo generate` from the command line's point of view."""

from __future__ import annotations

from pathlib import Path

import pytest
from pinned_clock import PINNED_NOW

from seclo.cli import main
from seclo.demo import run_demo
from seclo.store import TABLES, open_store
from seclo.workspace import Workspace


def test_demo_fills_every_table_it_generates_without_rejects(tmp_path: Path) -> None:
    """The demo imports a whole organisation cleanly and reports headline figures from it."""
    result = run_demo(tmp_path / "demo", days=3, seed=11, end=PINNED_NOW)
    assert result.imports
    assert all(r.rows_rejected == 0 and r.rows_loaded == r.rows_read for r in result.imports)
    counts = {t.table: t.rows for t in result.summary.tables}
    for name in ("auth_events", "accounts", "assets", "ports", "findings", "incidents", "deployments"):
        assert counts[name] > 0, name
    names = {h.name for h in result.summary.headlines}
    assert {"login success rate", "accounts without MFA", "open findings"} <= names
    assert (tmp_path / "demo" / "seclo.yaml").is_file()
    # The HTML report sits in the workspace, with a section for each starter SecLO.
    assert result.report == tmp_path / "demo" / "report.html"
    page = result.report.read_text(encoding="utf-8")
    for slo in result.slos:
        assert f"<code>{slo.name}</code>" in page
    assert result.experiment is not None
    assert result.experiment.verdict == "passed", result.experiment.reason


def test_demo_shows_the_analytics_headlines_and_report_sections(tmp_path: Path) -> None:
    """The demo computes flaw half-life, SLA, incident medians and the DORA four keys with levels, shows
    several scan-frequency buckets, and its report holds every analytics section."""
    result = run_demo(tmp_path / "demo", days=3, seed=11, end=PINNED_NOW)
    assert result.analytics is not None
    figures = {h.name: h.value for h in result.analytics.headlines()}
    assert figures["flaw half-life"].endswith(" days")
    assert figures["fixed within SLA"].endswith("%")
    assert int(figures["past SLA now"].replace(",", "")) > 0
    for measure in ("MTTD", "MTTA", "MTTR"):
        assert f"{measure} security" in figures
        assert f"{measure} outage" in figures
    for key in ("deployment frequency", "lead time for changes", "change failure rate", "time to restore"):
        value = next(v for k, v in figures.items() if k.startswith(f"DORA {key}"))
        assert value.endswith(("(Elite)", "(High)", "(Medium)", "(Low)")), value
    assert result.analytics.persistence is not None
    buckets = {c.group for c in result.analytics.persistence.by("scan_frequency")}
    assert {"<12 scans/yr", "12-52 scans/yr", "52-260 scans/yr", ">=260 scans/yr"} <= buckets
    assert result.report is not None
    page = result.report.read_text(encoding="utf-8")
    for anchor in ("analytics-headlines", "persistence", "sla", "kpi", "dora", "together"):
        assert f'id="{anchor}"' in page, anchor
    assert "together-scatter" in page


def test_demo_command_prints_the_analytics_headlines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`seclo demo` prints the security performance table with the half-life and the DORA levels."""
    main(["demo", "--days", "2", "--seed", "3", "-w", str(tmp_path / "demo")])
    out = capsys.readouterr().out
    assert "Security performance" in out
    assert "flaw half-life" in out
    assert "DORA change failure rate" in out


def test_generate_then_import_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    """`seclo generate --import` run again with the same seed and end finds everything already imported."""
    ws = tmp_path / "ws"
    out = ws / "gen"
    argv = ["generate", "--days", "2", "--seed", "5", "--auth-events", "20000", "--out", str(out), "--import"]
    argv += ["--end", "2024-03-02T00:00:00Z"]
    main([*argv, "-w", str(ws)])
    with open_store(Workspace.open(ws).store_path) as store:
        first = {
            s.name: store.conn.execute(f"SELECT count(*) FROM {s.name}").fetchall()[0][0] for s in TABLES
        }
    main([*argv, "-w", str(ws)])
    with open_store(Workspace.open(ws).store_path) as store:
        second = {
            s.name: store.conn.execute(f"SELECT count(*) FROM {s.name}").fetchall()[0][0] for s in TABLES
        }
    assert first["auth_events"] == 20000
    assert first == second


def test_demo_runs_one_playbook_for_real_and_one_as_a_dry_run(tmp_path: Path) -> None:
    """The demo pages a local receiver once per page alert that fires, and its dry run sends nothing."""
    result = run_demo(tmp_path / "demo", days=2, seed=3, auth_events=20_000, end=PINNED_NOW)
    assert result.playbooks is not None
    firing = sum(
        1 for r in result.slos if r.status is not None for a in r.status.firing if a.window.severity == "page"
    )
    ran = [o for o in result.playbooks.real if o.decision == "ran"]
    assert firing >= 1, "the demo should have a SecLO burning fast enough to page"
    assert len(ran) == firing
    assert {o.status for o in ran} == {"succeeded"}
    assert result.playbooks.received == firing
    assert result.playbooks.dry
    assert {o.decision for o in result.playbooks.dry} == {"dry_run"}
    with open_store(Workspace.open(tmp_path / "demo").store_path, read_only=True) as store:
        runs = store.conn.execute("SELECT playbook, count(*) FROM playbook_runs GROUP BY playbook").fetchall()
    assert runs == [("page-on-burn", firing)]


def test_seclo_now_pins_the_time_of_generate_demo_and_slo_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECLO_NOW is "now" for generate's end and slo status' --at, so runs do not depend on the clock."""
    monkeypatch.setenv("SECLO_NOW", "2025-07-14T21:35:30+02:00")
    ws = tmp_path / "ws"
    main(["init", str(ws)])
    main(["generate", "--days", "1", "--seed", "2", "--auth-events", "500", "--import", "-w", str(ws)])
    with open_store(Workspace.open(ws).store_path, read_only=True) as store:
        last = store.conn.execute("SELECT max(time) FROM auth_events").fetchall()[0][0]
    assert str(last) < "2025-07-14 19:35:00"  # the end, to the minute, in UTC
    assert str(last) > "2025-07-14 18:00:00"
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["slo", "status", "--format", "json", "-w", str(ws)])
    assert '"at": "2025-07-14T19:35:30Z"' in capsys.readouterr().out


def test_a_bad_seclo_now_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A SECLO_NOW that is not an ISO 8601 time stops the command with exit 2 and names the variable."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECLO_NOW", "yesterday")
        with pytest.raises(SystemExit) as done:
            main(["generate", "--days", "1", "-w", str(tmp_path)])
    assert done.value.code == 2
    assert "SECLO_NOW: 'yesterday' is not an ISO 8601 time" in capsys.readouterr().err
