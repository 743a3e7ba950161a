"""Risk in the HTML report: a page of its own (`seclo risk ... --html`), or sections of the workspace report."""

from __future__ import annotations

from pathlib import Path

from seclo import __version__
from seclo.report.html import esc, render_page, write_page
from seclo.report.interface import Section
from seclo.report.risk_sections import risk_sections
from seclo.risk.portfolio import PortfolioResult, run_portfolio
from seclo.risk.scenario import load_scenarios, load_tolerance

__all__ = ["REPORT_RUNS", "workspace_risk_sections", "write_risk_report"]

# Years simulated for the workspace report: quantiles to about 1% and a 1-in-250-year level from 400 samples.
REPORT_RUNS = 100_000


def workspace_risk_sections(folder: Path, runs: int = REPORT_RUNS, seed: int = 1) -> list[Section]:
    """Risk sections for the scenarios in `folder` (the workspace's risk/); none when it holds none.

    Raises:
        ConfigError: a scenario file is invalid.
    """
    if not folder.is_dir():
        return []
    scenarios = load_scenarios([folder])
    if not scenarios:
        return []
    return risk_sections(run_portfolio(scenarios, runs, seed, tolerance=load_tolerance([folder])))


def write_risk_report(path: Path, result: PortfolioResult, title: str = "Risk") -> Path:
    """A page with the risk sections of `result`, written atomically; returns `path`."""
    header = f"<p>{result.runs:,} simulated years, seed {result.seed}.</p>"
    footer = f"Made by seclo {esc(__version__)}. The model and its sources: docs/risk-model.md."
    write_page(path, render_page(title, header, risk_sections(result), footer))
    return path
