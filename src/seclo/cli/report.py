"""`seclo report`: every SLO and the analytics as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from seclo.cli.options import cli_now, open_workspace, parse_time, workspace_option

__all__ = ["report_command"]


@click.command("report")
@click.option(
    "--html",
    "html_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this HTML file (replaced if it exists).",
)
@click.option(
    "--at", "at_text", metavar="ISO8601", help="Evaluate at this time [default: now]; later data is ignored."
)
@click.option(
    "--analytics-days",
    type=click.FloatRange(1, 36500),
    default=365,
    show_default=True,
    help="Period before --at of the analytics sections (as seclo analyze --days).",
)
@workspace_option
def report_command(
    html_path: Path, at_text: str | None, analytics_days: float, workspace: Path | None
) -> None:
    """Write a report of every SLO in slos/ as one self-contained HTML file, for people who do not read
    terminals: a summary, then per objective its state, attainment, error budget, burn rates, alerts, error
    budget policy, and charts of the budget and the SLI over the period; then the security performance
    analytics (headline figures, flaw persistence, patch SLAs, incident KPIs, DORA, per team) of the store's
    data, each where the store has data for it.

    The file loads nothing from the network (no scripts, fonts or remote images), so it can be mailed or
    archived as it is. It is described in docs/report.md.

    \b
    Exit codes:
      0  the report was written (whatever the objectives' states)
      2  bad input: an invalid SLO file, no store, a bad --at

    Example: seclo report --html slo-report.html --at 2024-03-01T12:00:00Z
    """
    from seclo.analytics.interface import Window  # noqa: PLC0415
    from seclo.analytics.overview import analyze_overview  # noqa: PLC0415
    from seclo.report import write_slo_report  # noqa: PLC0415
    from seclo.report.analytics_report import overview_sections  # noqa: PLC0415
    from seclo.report.risk_report import workspace_risk_sections  # noqa: PLC0415
    from seclo.slo.status import evaluate_workspace  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = open_workspace(workspace)
    at = parse_time(at_text) or cli_now()
    with open_store(ws.store_path, sandboxed=True) as store:
        results = evaluate_workspace(ws, store, at=at)
        analytics = analyze_overview(store, Window.ending(at, analytics_days), ws.settings.sla_days)
    risk = workspace_risk_sections(ws.root / "risk")
    extra = [*overview_sections(analytics), *risk]
    write_slo_report(html_path, results, at=at, workspace=ws.root, extra=extra)
    states = [r.state for r in results]
    click.echo(
        f"wrote {html_path}: {len(results)} objectives, {states.count('met')} met, "
        f"{states.count('breached')} breached"
    )
