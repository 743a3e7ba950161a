"""`seclo demo`: seclo end to end on a generated organisation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from seclo.cli.experiment import show_run
from seclo.cli.options import cli_now, workspace_option
from seclo.cli.slo import render_slos

__all__ = ["demo_command"]


def _minute(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


@click.command("demo")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="Days of history.")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same organisation.")
@workspace_option
def demo_command(days: int, seed: int, workspace: Path | None) -> None:
    """Run seclo end to end on a generated organisation, in a new temporary workspace (or --workspace).

    Example: seclo demo
    """
    from seclo.cli.terminal import RichReporter, render_table  # noqa: PLC0415
    from seclo.demo import run_demo  # noqa: PLC0415

    reporter = RichReporter()
    end = cli_now().replace(second=0, microsecond=0)
    result = run_demo(workspace, days=days, seed=seed, end=end, reporter=reporter)
    click.echo(f"workspace: {result.workspace}")
    render_table(
        "Imported",
        ["file", "read", "loaded", "rejected"],
        [
            (r.path.name, f"{r.rows_read:,}", f"{r.rows_loaded:,}", f"{r.rows_rejected:,}")
            for r in result.imports
        ],
    )
    render_table(
        "Store",
        ["table", "rows", "from", "to"],
        [
            (t.table, f"{t.rows:,}", _minute(t.first), _minute(t.last))
            for t in result.summary.tables
            if t.rows
        ],
    )
    render_table(
        "Headlines",
        ["measure", "value", "detail"],
        [(h.name, h.value, h.detail) for h in result.summary.headlines],
    )
    render_slos(result.slos)
    if result.analytics is not None:
        w = result.analytics.window
        render_table(
            f"Security performance, {w.since:%Y-%m-%d} to {w.at:%Y-%m-%d} (seclo analyze)",
            ["measure", "value", "how"],
            [(h.name, h.value, h.detail) for h in result.analytics.headlines()],
        )
    if result.report is not None:
        click.echo(f"report: {result.report}")
    if result.experiment is not None:
        show_run(result.experiment, "table")
    if result.playbooks is not None:
        pages = [o for o in result.playbooks.real if o.decision == "ran"]
        burning = sorted({str(o.occurrence.fields.get("slo", "?")) for o in pages})
        click.echo(
            f"playbook page-on-burn: ran for {len(pages)} page alert(s) on {', '.join(burning) or 'no SecLO'}; "
            f"the local receiver got {result.playbooks.received} page(s)"
        )
        planned = [o for o in result.playbooks.dry if o.decision == "dry_run"]
        click.echo(
            f"playbook ticket-past-sla (dry run): would open {len(planned)} ticket(s) for findings past their "
            "SLA; nothing sent. History: seclo playbook history"
        )
    click.echo(f'explore: seclo query --workspace {result.workspace} "SELECT * FROM auth_events LIMIT 5"')
