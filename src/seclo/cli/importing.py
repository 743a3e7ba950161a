"""`seclo import` and `seclo generate`: files into the store, and a synthetic organisation to import."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from seclo.cli.options import cli_now, open_workspace, parse_time, workspace_option

__all__ = ["generate_command", "import_command"]


@click.command("import")
@click.argument("kind")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Fail, loading nothing, if any row is invalid.")
@click.option("--year", type=click.IntRange(1970, 2100), help="Year of syslog lines (they carry none).")
@click.option(
    "--timezone", "timezone", help="Time zone of timestamps that carry none [default: from seclo.yaml]."
)
@click.option("--snapshot-time", help="Inventory time for snapshot files that state none (ISO 8601).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@workspace_option
def import_command(
    kind: str,
    paths: tuple[Path, ...],
    strict: bool,
    year: int | None,
    timezone: str | None,
    snapshot_time: str | None,
    fmt: str,
    workspace: Path | None,
) -> None:
    """Import files of KIND into the store.

    \b
    Kinds:
      events, accounts, assets, ports, findings, incidents, deployments
                 canonical CSV, NDJSON or Parquet (columns: docs/data-model.md)
      syslog     Linux syslog / OpenSSH auth lines
      ocsf       OCSF Authentication (3002) NDJSON
      ecs        Elastic Common Schema authentication NDJSON
      nmap       nmap XML scans (-oX)
      cyclonedx  CycloneDX JSON SBOMs
      osv        OSV advisories (a file or a folder), matched against components

    Each file is one transaction: it loads completely or not at all. A file already imported adds nothing.
    Rows that cannot be loaded are kept, with the reason, in the `rejected` table.

    Example: seclo import syslog /var/log/auth.log --year 2024 --timezone Europe/Berlin
    """
    from seclo.cli.terminal import RichReporter  # noqa: PLC0415
    from seclo.importers import ImportOptions, get_importer, import_path  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = open_workspace(workspace)
    options = ImportOptions(
        year=year,
        timezone=timezone or ws.settings.timezone,
        strict=strict,
        snapshot_time=parse_time(snapshot_time),
    )
    importer = get_importer(kind)
    reporter = RichReporter()
    results = []
    settings = ws.settings.store
    with open_store(ws.store_path, memory_limit=settings.memory_limit, threads=settings.threads) as store:
        for path in paths:
            results.append(import_path(store, importer, path, options, reporter))
    if fmt == "json":
        click.echo(json.dumps([asdict(r) for r in results], default=str, indent=2))
        return
    for r in results:
        if r.already_imported:
            click.echo(f"{r.path}: already imported (batch {r.batch_id}); nothing added")
            continue
        click.echo(
            f"{r.path}: read {r.rows_read:,}, loaded {r.rows_loaded:,}, duplicates {r.rows_duplicate:,}, "
            f"skipped {r.rows_skipped:,}, rejected {r.rows_rejected:,} (batch {r.batch_id})"
        )
        if r.rows_rejected:
            click.echo(
                f'  see why: seclo query "SELECT line, field, reason FROM rejected WHERE batch_id = {r.batch_id}"'
            )


@click.command("generate")
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True, help="Days of history.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same organisation.")
@click.option("--auth-events", type=click.IntRange(min=0), default=None, help="Number of auth events.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the Parquet files [default: WORKSPACE/data/generated].",
)
@click.option(
    "--end", "end_text", metavar="ISO8601", help="Last moment of the history [default: now, to the minute]."
)
@click.option("--import", "do_import", is_flag=True, help="Also import the files into the store.")
@workspace_option
def generate_command(
    days: int,
    seed: int,
    auth_events: int | None,
    out: Path | None,
    end_text: str | None,
    do_import: bool,
    workspace: Path | None,
) -> None:
    """Write a realistic synthetic organisation as Parquet files, one per table.

    Users and accounts, assets and ports, auth events with a daily rhythm and brute-force bursts, findings,
    incidents and deployments. The same --seed and --end give the same files; scales to 100M auth events in
    bounded memory.

    Example: seclo generate --days 30 --seed 1 --auth-events 10000000 --import
    """
    from seclo.cli.terminal import RichReporter  # noqa: PLC0415
    from seclo.demo import import_generated  # noqa: PLC0415
    from seclo.generate import generate_organisation  # noqa: PLC0415

    ws = open_workspace(workspace)
    folder = out or ws.root / "data" / "generated"
    reporter = RichReporter()
    generate_organisation(
        folder,
        days=days,
        seed=seed,
        auth_events=auth_events,
        end=parse_time(end_text) or cli_now().replace(second=0, microsecond=0),
        reporter=reporter,
    )
    for path in sorted(folder.glob("*.parquet")):
        click.echo(f"wrote {path}")
    if do_import:
        for r in import_generated(ws, folder, reporter):
            click.echo(f"{r.path.name}: loaded {r.rows_loaded:,} of {r.rows_read:,}")
