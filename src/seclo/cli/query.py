"""`seclo query`: read-only SQL over the store, as a table, JSON or CSV."""

from __future__ import annotations

from pathlib import Path

import click

from seclo.cli.options import open_workspace, workspace_option

__all__ = ["query_command"]


@click.command("query")
@click.argument("sql")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Return at most this many rows.")
@workspace_option
def query_command(sql: str, fmt: str, limit: int | None, workspace: Path | None) -> None:
    """Run read-only SQL over the store: SELECT statements over its tables (no files, network or settings).

    CSV output quotes every text cell, and one that a spreadsheet would run as a formula (starting with = + - @,
    a tab or a carriage return) gets a leading ' (OWASP); numbers are written as they are.

    Example: seclo query "SELECT outcome, count(*) FROM auth_events GROUP BY outcome" --format csv
    """
    from seclo.cli.terminal import render_table  # noqa: PLC0415
    from seclo.query import run_query, to_csv, to_json  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = open_workspace(workspace)
    with open_store(ws.store_path, sandboxed=True) as store:
        result = run_query(store, sql, limit=limit)
    if fmt == "json":
        click.echo(to_json(result))
    elif fmt == "csv":
        click.echo(to_csv(result), nl=False)
    else:
        render_table(None, result.columns, result.rows)
