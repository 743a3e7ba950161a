"""Risk in the HTML report: the comparison page and the risk sections of the workspace report."""

from __future__ import annotations

from pathlib import Path

from report_helpers import loads

from seclo.report.risk_report import workspace_risk_sections, write_risk_report
from seclo.risk.portfolio import run_portfolio
from seclo.risk.scenario import preset_scenario
from seclo.workspace import init_workspace


def test_comparison_page_is_self_contained_with_both_charts(tmp_path: Path) -> None:
    """Security against outages: a table, log-log exceedance curves and a histogram per category, offline."""
    scenarios = (
        preset_scenario("iris-2022-breach", name="breach"),
        preset_scenario("outage", name="outages"),
    )
    path = write_risk_report(tmp_path / "risk.html", run_portfolio(scenarios, 20_000, 1), "Compare")
    page = path.read_text(encoding="utf-8")
    found = loads(page)
    assert [u for u in found.urls if not (u.startswith("#") or u.startswith("data:"))] == []
    assert "script" not in found.tags
    assert page.count("<svg") == 3
    assert "Loss exceedance curves by category" in page
    assert "Annual loss histogram, security" in page
    assert "Annual loss histogram, outage" in page
    assert "87% of years without loss" in page  # exp(-0.138) of the breach years
    assert len(found.ids) == len(set(found.ids))


def test_workspace_sections_show_treatment_value(tmp_path: Path) -> None:
    """The starter scenarios give an overview and a treatment section with the loss it avoids."""
    init_workspace(tmp_path)
    sections = workspace_risk_sections(tmp_path / "risk", runs=20_000)
    assert [s.anchor for s in sections] == ["risk", "risk-data-breach"]
    treatment = sections[1].html()
    assert "phishing-resistant-mfa" in treatment
    assert "loss avoided a year" in treatment
    assert treatment.count("<svg") == 1


def test_no_scenarios_no_sections(tmp_path: Path) -> None:
    """A workspace without risk scenarios adds nothing to the report."""
    (tmp_path / "risk").mkdir()
    assert workspace_risk_sections(tmp_path / "risk") == []
    assert workspace_risk_sections(tmp_path / "missing") == []
