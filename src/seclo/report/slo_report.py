"""The HTML report of a workspace's SecLOs: a summary, then a section per objective, in one file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from seclo import __version__
from seclo.report.html import esc, render_page, write_page
from seclo.report.interface import Section
from seclo.report.slo_sections import SloSection, SummarySection, fmt_time
from seclo.slo.status import SloResult

__all__ = ["TITLE", "render_slo_report", "write_slo_report"]

TITLE = "Security Level Objectives"


def render_slo_report(
    results: tuple[SloResult, ...],
    *,
    at: datetime,
    workspace: Path | str,
    extra: Sequence[Section] = (),
) -> str:
    """The report as one self-contained HTML document.

    Args:
        results: what seclo.slo.status.evaluate_workspace returned, in file order.
        at: the evaluation time the results were computed at (naive means UTC).
        workspace: the workspace folder, named in the report.
        extra: sections after the SLOs' (risk, analytics).
    """
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    sections: list[Section] = [SummarySection(results, moment, str(workspace))]
    sections += [SloSection(index, result) for index, result in enumerate(results)]
    sections += extra
    header = (
        f"<p>Evaluated at <strong>{esc(fmt_time(moment))}</strong> · workspace "
        f"<code>{esc(workspace)}</code></p>"
    )
    footer = (
        f"Made by seclo {esc(__version__)}. Burn-rate alerts follow the SRE Workbook (table 5-8). "
        "Times are UTC. The figures are those of <code>seclo slo status</code> at the same time."
    )
    return render_page(TITLE, header, sections, footer)


def write_slo_report(
    path: Path,
    results: tuple[SloResult, ...],
    *,
    at: datetime,
    workspace: Path | str,
    extra: Sequence[Section] = (),
) -> Path:
    """Render the report and write it to `path` atomically; returns `path`."""
    write_page(path, render_slo_report(results, at=at, workspace=workspace, extra=extra))
    return path
