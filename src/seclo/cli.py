"""The command line: parse arguments, call the library, turn errors into messages and exit codes.

Exit codes: 0 OK or met, 1 an objective breached, 2 a usage, configuration or input error.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import click

from seclo import __version__
from seclo.cli_http import http_access, http_access_options
from seclo.errors import SecloError

# Heavy modules (DuckDB, numpy, pydantic, rich) are imported inside the commands that use them, so `--help`
# and a command pay only for what they run: `seclo slo status` is timed end to end (BENCHMARKS.md).
if TYPE_CHECKING:
    import threading

    from seclo.experiments.result import RunResult
    from seclo.risk.portfolio import PortfolioResult
    from seclo.slo.status import SloResult
    from seclo.workspace import Workspace

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def workspace_option(func: F) -> F:
    """Add --workspace to a command (default: $SECLO_WORKSPACE, else the current directory)."""
    return click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="SECLO_WORKSPACE",
        default=None,
        help="Workspace folder [default: $SECLO_WORKSPACE or the current directory].",
    )(func)


def _open_workspace(path: Path | None) -> Workspace:
    from seclo.workspace import Workspace  # noqa: PLC0415

    return Workspace.open(path)


class LazyGroup(click.Group):
    """A group whose largest subcommand groups live in their own modules, imported only when used (click's
    documented pattern for lazy subcommands), so `seclo experiment run` does not pay for matplotlib."""

    lazy: ClassVar[dict[str, str]] = {
        "analyze": "seclo.cli_analyze:analyze_group",
        "playbook": "seclo.cli_playbook:playbook_group",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, the lazy ones included, in name order."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called `cmd_name`, importing its module first when it is a lazy one."""
        if cmd_name in self.lazy:
            module_name, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.version_option(__version__, prog_name="seclo")
def cli() -> None:
    """seclo: Site Reliability Engineering for security.

    Measure security with objectives and error budgets, run security chaos experiments, automate the
    response, and quantify risk, on the data you already have.
    """


@cli.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def init_command(directory: Path | None) -> None:
    """Create a workspace: seclo.yaml, the slos/, experiments/, playbooks/ and risk/ folders, and starters
    in them: Security Level Objectives (OpenSLO v1 files), two experiments with the example detector they
    run against, two playbooks and risk scenarios.

    Existing files are left as they are.

    Example: seclo init my-security-slos
    """
    from seclo.workspace import init_workspace  # noqa: PLC0415

    root = directory or Path.cwd()
    created = init_workspace(root)
    for path in created:
        click.echo(f"created {path}")
    if not created:
        click.echo(f"{root.resolve()} is already a workspace; nothing to do")


_EARLIEST, _LATEST = datetime(1900, 1, 1), datetime(9000, 1, 1)


def _parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time as naive UTC; a time without an offset is taken as UTC.

    Only years 1900 to 8999: windows, periods and SLAs reach years back and ahead of the time given, and
    `0001-01-01T00:30:00+01:00` is not even a time once converted to UTC (an OverflowError, not a message).
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2024-03-01T00:00:00Z") from None
    outside = click.BadParameter(f"{value!r} is outside the years 1900 to 8999 seclo computes over")
    try:
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise outside from None
    if not _EARLIEST <= parsed < _LATEST:
        raise outside
    return parsed


def cli_now() -> datetime:
    """The command's "now", as naive UTC: $SECLO_NOW when set, else the clock.

    The one place a command reads the clock for its default time (generate's --end, the demo's end, --at of
    slo status, report and analyze), so tests and reproducible demos pin it with SECLO_NOW=2026-12-07T21:35Z.
    """
    pinned = os.environ.get("SECLO_NOW")
    if pinned:
        try:
            moment = _parse_time(pinned)
        except click.BadParameter as exc:
            raise click.UsageError(f"SECLO_NOW: {exc.message}") from None
        assert moment is not None  # noqa: S101 - parsed from a non-empty string
        return moment
    return datetime.now(UTC).replace(tzinfo=None)


@cli.command("import")
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
    from seclo.console import RichReporter  # noqa: PLC0415
    from seclo.importers import ImportOptions, get_importer, import_path  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = _open_workspace(workspace)
    options = ImportOptions(
        year=year,
        timezone=timezone or ws.settings.timezone,
        strict=strict,
        snapshot_time=_parse_time(snapshot_time),
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


@cli.command("query")
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
    from seclo.console import render_table  # noqa: PLC0415
    from seclo.query import run_query, to_csv, to_json  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = _open_workspace(workspace)
    with open_store(ws.store_path, sandboxed=True) as store:
        result = run_query(store, sql, limit=limit)
    if fmt == "json":
        click.echo(to_json(result))
    elif fmt == "csv":
        click.echo(to_csv(result), nl=False)
    else:
        render_table(None, result.columns, result.rows)


@cli.command("generate")
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
    from seclo.console import RichReporter  # noqa: PLC0415
    from seclo.demo import import_generated  # noqa: PLC0415
    from seclo.generate import generate_organisation  # noqa: PLC0415

    ws = _open_workspace(workspace)
    folder = out or ws.root / "data" / "generated"
    reporter = RichReporter()
    generate_organisation(
        folder,
        days=days,
        seed=seed,
        auth_events=auth_events,
        end=_parse_time(end_text) or cli_now().replace(second=0, microsecond=0),
        reporter=reporter,
    )
    for path in sorted(folder.glob("*.parquet")):
        click.echo(f"wrote {path}")
    if do_import:
        for r in import_generated(ws, folder, reporter):
            click.echo(f"{r.path.name}: loaded {r.rows_loaded:,} of {r.rows_read:,}")


def _percent(value: float, digits: int = 2) -> str:
    return "" if math.isnan(value) else f"{value * 100:.{digits}f}%"  # NaN (no data) shows as blank


def _slo_rows(results: tuple[SloResult, ...]) -> list[tuple[str, ...]]:
    """One table row per objective: state, attainment, budget left, the fastest burn, firing alerts (Workbook
    tiers by tier, AlertPolicy conditions by name) and the error budget policy's current step."""
    rows: list[tuple[str, ...]] = []
    for r in results:
        st = r.status
        if st is None:
            rows.append((r.name, r.state, r.indicator, _percent(r.target, 1), "", "", "", "", ""))
            continue
        workbook = [a.window.severity for a in st.firing if a.window.policy is None]
        tiers: list[str] = [t for t in ("page", "ticket") if t in workbook]
        tiers += [a.window.name for a in st.firing if a.window.policy is not None]
        step = r.policy.current if r.policy is not None else None
        rates = [b for b in st.burn_rates if not math.isnan(b.rate)]
        fastest = max(rates, key=lambda b: b.rate, default=None)
        burn = "" if fastest is None else f"{fastest.rate:.1f}x over {fastest.name}"
        budget = _percent(st.budget.remaining_fraction, 0)
        rows.append(
            (
                r.name,
                r.state,
                r.indicator,
                _percent(r.target, 1),
                _percent(st.attainment),
                budget,
                burn,
                ", ".join(tiers),
                "" if step is None else step.name,
            )
        )
    return rows


def _render_slos(results: tuple[SloResult, ...]) -> None:
    from seclo.console import render_table  # noqa: PLC0415

    render_table(
        "SecLOs",
        [
            "SLO",
            "state",
            "SLI",
            "target",
            "attainment",
            "budget left",
            "fastest burn",
            "alert",
            "policy step",
        ],
        _slo_rows(results),
    )
    for r in results:
        if r.error:
            click.echo(f"{r.name}: {r.state}: {r.error}")


@cli.group("slo")
def slo_group() -> None:
    """Security Level Objectives: evaluate the OpenSLO files in the workspace's slos/ folder.

    Example: seclo slo status --format json
    """


@slo_group.command("status")
@click.option(
    "--at", "at_text", metavar="ISO8601", help="Evaluate at this time [default: now]; later data is ignored."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@workspace_option
def slo_status_command(at_text: str | None, fmt: str, workspace: Path | None) -> None:
    """Evaluate every SLO in slos/ from the store: attainment, error budget, burn rates and alerts.

    \b
    Exit codes:
      0  every objective is met (or has no data, too little data, or an unsupported source)
      1  an objective is breached or one of its burn-rate alerts fires
      2  bad input: an invalid SLO file, no store, a bad --at
    The JSON output is described in docs/slo-status.md (schema seclo.slo.status/v1).

    Example: seclo slo status --at 2024-03-01T12:00:00Z --format json
    """
    from seclo.slo.status import evaluate_workspace, status_document  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = _open_workspace(workspace)
    at = _parse_time(at_text) or cli_now()
    with open_store(ws.store_path, sandboxed=True) as store:
        results = evaluate_workspace(ws, store, at=at)
    if fmt == "json":
        click.echo(json.dumps(status_document(results, at=at), indent=2))
    else:
        _render_slos(results)
    if any(r.failing for r in results):
        raise click.exceptions.Exit(1)


@cli.command("report")
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

    ws = _open_workspace(workspace)
    at = _parse_time(at_text) or cli_now()
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


@cli.group("experiment")
def experiment_group() -> None:
    """Security chaos experiments: inject a reversible fault, time detection and remediation, roll back.

    Experiments live in the workspace's experiments/ folder (format: docs/experiments.md).

    Example: seclo experiment run open-port --dry-run
    """


class _StderrNarrator:
    """Prints each step of a run on stderr, with the time."""

    def say(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        click.echo(f"{stamp} {message}", err=True)


def _run_document(result: RunResult) -> dict[str, Any]:
    from seclo.experiments.journal import timings_document  # noqa: PLC0415

    return {
        "run_id": result.run_id,
        "experiment": result.title,
        "name": result.name,
        "verdict": result.verdict,
        "status": result.status,
        "reason": result.reason,
        "fault": result.fault,
        "technique": result.technique,
        "timings": timings_document(result.timings),
        "journal": str(result.journal),
        "recorded": result.recorded,
        "restored": result.restored,
        "rollback_conflict": result.conflict or None,
    }


def _show_run(result: RunResult, fmt: str) -> None:
    from seclo.console import render_table  # noqa: PLC0415

    if fmt == "json":
        click.echo(json.dumps(_run_document(result), indent=2))
        return
    t = result.timings
    ttd = "" if t.time_to_detect_ms is None else f"{t.time_to_detect_ms} ms"
    ttr = "" if t.time_to_remediate_ms is None else f"{t.time_to_remediate_ms} ms"
    render_table(
        f"{result.title}: {result.verdict}",
        ["run", "fault", "injected", "time to detect", "time to remediate", "rolled back"],
        [(result.run_id, result.fault or "", _ms_time(t.injected_at), ttd, ttr, _ms_time(t.rolled_back_at))],
    )
    click.echo(f"{result.verdict}: {result.reason}")
    click.echo(f"journal: {result.journal}")


def _ms_time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _seconds(value: str | None, name: str) -> float | None:
    from seclo.experiments.durations import parse_seconds  # noqa: PLC0415

    if value is None:
        return None
    try:
        return parse_seconds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


@experiment_group.command("run")
@click.argument("experiment")
@click.option(
    "--dry-run", is_flag=True, help="Validate, check the allowlist and print the plan; touch nothing."
)
@click.option("--every", metavar="DURATION", help="Keep running it at this interval (e.g. 1h) until stopped.")
@click.option("--jitter", metavar="DURATION", help="Add a random delay of up to this much to each interval.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@workspace_option
def experiment_run_command(
    experiment: str, dry_run: bool, every: str | None, jitter: str | None, fmt: str, workspace: Path | None
) -> None:
    """Run EXPERIMENT (a file, or the name of one in experiments/): inject its fault, time detection and
    remediation, and always roll back. Each run is journaled and recorded in the store (experiment_runs).

    \b
    Exit codes:
      0    passed (with --every: stopped while waiting)
      1    detection missed, remediation missed, deviated or aborted; or a rollback failed or met a file
           edited after the injection (kept, its original saved beside it) (with --every, the loop stops there)
      2    invalid experiment, missing variable, or a target outside the allowlist (nothing was touched)
      130  interrupted by Ctrl-C or SIGTERM (after rolling back)

    Example: seclo experiment run examples/experiments/failed-logins-detected.yaml --every 1h --jitter 5m
    """
    from seclo.experiments.loader import find_experiment, load_experiment  # noqa: PLC0415
    from seclo.experiments.plan import plan_run  # noqa: PLC0415
    from seclo.experiments.runner import run_plan  # noqa: PLC0415

    ws = _open_workspace(workspace)
    path = find_experiment(experiment, ws.root / "experiments")
    interval, spread = _seconds(every, "--every"), _seconds(jitter, "--jitter")
    if spread is not None and interval is None:
        raise click.BadParameter("--jitter needs --every", param_hint="--jitter")
    plan = plan_run(load_experiment(path), ws)
    if dry_run:
        click.echo("dry run: nothing will be touched")
        for line in plan.describe():
            click.echo(line)
        return
    narrator = _StderrNarrator()
    if interval is None:
        result = run_plan(plan, narrator)
        _show_run(result, fmt)
        if result.interrupted:
            raise click.exceptions.Exit(130)
        if result.verdict != "passed" or not result.restored or result.conflict:
            raise click.exceptions.Exit(1)
        return

    from seclo.experiments.scheduler import run_every  # noqa: PLC0415

    def once(stop: threading.Event) -> RunResult:
        return run_plan(plan_run(load_experiment(path), ws), narrator, stop=stop)

    last: RunResult | None = None
    for last in run_every(once, interval, spread or 0.0):
        _show_run(last, fmt)
    if last is not None and last.interrupted:
        raise click.exceptions.Exit(130)
    if last is not None and (not last.restored or last.conflict):
        raise click.exceptions.Exit(1)


@experiment_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@workspace_option
def experiment_list_command(fmt: str, workspace: Path | None) -> None:
    """List the experiments in experiments/ with their fault and last verdict, and runs awaiting recovery.

    Example: seclo experiment list --format json
    """
    from seclo.console import render_table  # noqa: PLC0415
    from seclo.experiments.catalog import workspace_experiments  # noqa: PLC0415
    from seclo.experiments.clock import iso_ms  # noqa: PLC0415

    ws = _open_workspace(workspace)
    entries, pending = workspace_experiments(ws)
    if fmt == "json":
        listed = [{**asdict(e), "last_run": e.last_run and iso_ms(e.last_run)} for e in entries]
        click.echo(json.dumps({"experiments": listed, "awaiting_recovery": list(pending)}, indent=2))
        return
    render_table(
        "Experiments",
        ["name", "title", "fault", "technique", "last run", "last verdict"],
        [(e.name, e.title, e.fault, e.technique, _ms_time(e.last_run), e.last_verdict) for e in entries],
    )
    for run_id in pending:
        click.echo(f"run {run_id} left a fault behind: run `seclo experiment recover`")


@experiment_group.command("recover")
@workspace_option
def experiment_recover_command(workspace: Path | None) -> None:
    """Roll back what killed runs left behind (their state files), then journal them as aborted.

    Exit code 1 if something could not be rolled back (the state file is kept, so it can be retried), or if
    a target was changed after the injection: that is kept as it is, the original is saved beside it
    (FILE.seclo-original) and the conflict is reported, to be merged by hand.

    Example: seclo experiment recover --workspace my-seclo
    """
    from seclo.experiments import recover_runs  # noqa: PLC0415

    ws = _open_workspace(workspace)
    recoveries = recover_runs(ws)
    if not recoveries:
        click.echo("nothing to recover")
        return
    for r in recoveries:
        click.echo(f"{r.run_id} ({r.title}): {'recovered' if r.complete else 'NOT recovered'}")
        for line in r.undone:
            click.echo(f"  {line}")
        if r.problem:
            click.echo(f"  problem: {r.problem}")
        for conflict in r.conflicts:
            click.echo(f"  conflict: {conflict}")
    if not all(r.complete and not r.conflicts for r in recoveries):
        raise click.exceptions.Exit(1)


@slo_group.command("rules")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the rule file here (atomically) [default: standard output].",
)
@click.option(
    "--tests",
    "tests_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write `promtool test rules` unit tests for the rules in --out (needs --out).",
)
@workspace_option
def slo_rules_command(out: Path | None, tests_out: Path | None, workspace: Path | None) -> None:
    """Write Prometheus recording and alerting rules for every SLO in slos/ whose SLI PromQL can express.

    Per objective: the error ratio over 5m ... 3d and over the period, the SLO's objective, error budget,
    period and budget remaining, multi-window multi-burn-rate page and ticket alerts (the windows and
    factors of `seclo slo status`) and an absent-data alert. Objectives that cannot be written in PromQL
    (sql sources, Timeslices budgeting...) are listed as skipped, with the reason, on standard error and at
    the top of the file. Check the output with `promtool check rules`; docs/prometheus.md explains it.

    Example: seclo slo rules --out seclo-rules.yaml --tests seclo-rules-test.yaml
    """
    from seclo.atomic import write_text_atomic  # noqa: PLC0415
    from seclo.prometheus.rule_file import render_rule_file  # noqa: PLC0415
    from seclo.prometheus.rule_tests import render_rule_tests  # noqa: PLC0415
    from seclo.prometheus.rules import build_rules  # noqa: PLC0415
    from seclo.slo.loader import load_slo_documents  # noqa: PLC0415

    if tests_out is not None and out is None:
        raise click.UsageError("--tests needs --out: the tests name the rule file they load")
    ws = _open_workspace(workspace)
    rule_set = build_rules(load_slo_documents(ws.root / "slos").objectives)
    for skipped in rule_set.skipped:
        click.echo(f"skipped {skipped.slo} objective {skipped.objective}: {skipped.reason}", err=True)
    text = render_rule_file(rule_set)
    if out is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(out, text, shared=True)  # Prometheus, often another user, reads it
    click.echo(
        f"wrote {out}: {len(rule_set.objectives)} objective(s), {len(rule_set.skipped)} skipped", err=True
    )
    if tests_out is not None:
        write_text_atomic(tests_out, render_rule_tests(rule_set, out, tests_out), shared=True)
        click.echo(f"wrote {tests_out}: run `promtool test rules {tests_out}`", err=True)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=9464, show_default=True, help="Port (0: any free port)."
)
@click.option(
    "--refresh", default="60s", show_default=True, help="How often the store is read: 30s, 5m, 1h..."
)
@http_access_options
@workspace_option
def serve_command(
    host: str,
    port: int,
    refresh: str,
    auth_token_file: Path | None,
    basic_auth_file: Path | None,
    allow_host: tuple[str, ...],
    insecure_no_auth: bool,
    workspace: Path | None,
) -> None:
    """Serve /metrics for Prometheus and receive Alertmanager webhooks, until interrupted.

    \b
    GET  /metrics        every SLO's SLI counters, objective, attainment, error budget, burn rates and
                         alerts, the security SLIs, and the exporter's health (docs/prometheus.md)
    POST /alertmanager   Alertmanager webhook (version 4): alerts become incidents in the store, and
                         the playbooks they trigger run at once
    The figures are read from the store every --refresh, in the background; scrapes get the last figures
    at once. After each refresh the playbooks' polled triggers (SLO alerts, budget policy steps, experiment
    verdicts, findings, schedules) are evaluated, as `seclo playbook evaluate` does. Listens on 127.0.0.1
    unless --host says otherwise. With a token or basic auth configured, POST needs it; beyond 127.0.0.1 every
    request needs it, and the server does not start without one unless --insecure-no-auth is given.

    Example: SECLO_SERVE_TOKEN=... seclo serve --port 9464 --refresh 30s
    """
    import logging  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from seclo.server import serve  # noqa: PLC0415
    from seclo.sli.incidents import parse_duration  # noqa: PLC0415

    try:
        interval = parse_duration(refresh)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--refresh") from None
    access = http_access(auth_token_file, basic_auth_file, allow_host, insecure_no_auth)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ws = _open_workspace(workspace)
    server = serve(
        ws,
        host,
        port,
        interval,
        credentials=access.credentials(ws),
        allowed_hosts=access.allowed_hosts(ws),
        insecure_no_auth=insecure_no_auth,
    )

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        click.echo(f"seclo serve: listening on {server.url} (GET /metrics, POST /alertmanager)")
        sys.stdout.flush()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _minute(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


@cli.command("demo")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="Days of history.")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same organisation.")
@workspace_option
def demo_command(days: int, seed: int, workspace: Path | None) -> None:
    """Run seclo end to end on a generated organisation, in a new temporary workspace (or --workspace).

    Example: seclo demo
    """
    from seclo.console import RichReporter, render_table  # noqa: PLC0415
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
    _render_slos(result.slos)
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
        _show_run(result.experiment, "table")
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


@cli.group("risk")
def risk_group() -> None:
    """Risk quantification: Monte Carlo annual loss, security next to outages, what a treatment is worth.

    Example: seclo risk compare --runs 100000
    """


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _render_risk(result: PortfolioResult) -> None:
    from seclo.console import render_table  # noqa: PLC0415

    rows = []
    for s in result.scenarios:
        for v in s.variants:
            label = s.scenario.name if v.name == "baseline" else f"  + {v.name}"
            m = v.summary
            value = v.value
            avoided = (
                "" if value is None else f"{_money(value.loss_avoided)} (net {_money(value.net_benefit)})"
            )
            seen = (
                "" if value is None else (f"{value.years_to_see}y" if value.years_to_see else "not in 250y")
            )
            rows.append(
                (
                    label,
                    s.scenario.category,
                    _money(m.mean),
                    _money(m.median),
                    _money(m.p95),
                    _money(m.p99),
                    f"{1 - m.p_no_loss:.1%}",
                    avoided,
                    seen,
                )
            )
    totals = [*((f"all {c}", m) for c, m in result.categories.items()), ("portfolio", result.total)]
    for name, m in totals:
        rows.append(
            (
                name,
                "",
                _money(m.mean),
                _money(m.median),
                _money(m.p95),
                _money(m.p99),
                f"{1 - m.p_no_loss:.1%}",
                "",
                "",
            )
        )
    render_table(
        f"Annual loss, {result.runs:,} simulated years (seed {result.seed})",
        ["scenario", "category", "mean", "median", "p95", "p99", "P(loss)", "avoided per year", "visible in"],
        rows,
    )
    if result.tolerance is not None:
        breach = result.tolerance_breach
        verdict = (
            f"within risk tolerance {result.tolerance.name!r}"
            if breach is None
            else f"ABOVE risk tolerance {result.tolerance.name!r}: P(annual loss > {_money(breach.loss)}) = "
            f"{breach.probability:.2%}, tolerated {breach.tolerated:.2%}"
        )
        click.echo(f"portfolio: {verdict}")
    for s in result.scenarios:
        for warning in s.scenario.warnings:
            click.echo(f"{s.scenario.name}: warning: {warning}", err=True)
        for v in s.variants:
            if v.check.warning:
                click.echo(f"{s.scenario.name}/{v.name}: {v.check.warning}", err=True)


def _emit_risk(result: PortfolioResult, fmt: str, html_path: Path | None = None, title: str = "Risk") -> None:
    from seclo.risk.portfolio import simulation_document  # noqa: PLC0415

    if html_path is not None:
        from seclo.report.risk_report import write_risk_report  # noqa: PLC0415

        write_risk_report(html_path, result, title)
        click.echo(f"wrote {html_path}", err=True)
    if fmt == "json":
        click.echo(json.dumps(simulation_document(result), indent=2, allow_nan=False))
    else:
        _render_risk(result)


_runs_option = click.option(
    "--runs", type=click.IntRange(2, 100_000_000), default=100_000, show_default=True, help="Simulated years."
)
_seed_option = click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same result.")
_risk_format = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
_risk_html = click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML page with the tables, exceedance curves and histograms.",
)


@risk_group.command("simulate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_runs_option
@_seed_option
@_risk_format
@_risk_html
@workspace_option
def risk_simulate_command(
    paths: tuple[Path, ...], runs: int, seed: int, fmt: str, html_path: Path | None, workspace: Path | None
) -> None:
    """Simulate annual losses of the scenario files (default: the workspace's risk/ folder).

    Prints mean, median, p95, p99 and the chance of any loss per scenario, per treatment (with the loss it
    avoids net of its cost, and how many years until the difference would show), per category and in total.
    The JSON output is described in docs/risk-model.md (schema seclo.risk.simulation/v1).

    Example: seclo risk simulate risk/ --runs 200000 --format json
    """
    from seclo.risk.portfolio import run_portfolio  # noqa: PLC0415
    from seclo.risk.scenario import load_scenarios, load_tolerance  # noqa: PLC0415

    sources = list(paths) or [_open_workspace(workspace).root / "risk"]
    scenarios = load_scenarios(sources)
    tolerance = load_tolerance(sources)
    if not scenarios:
        raise SecloError(
            f"no risk scenario files in {', '.join(str(p) for p in sources)}",
            tip="See docs/risk-model.md, or try `seclo risk compare`.",
        )
    result = run_portfolio(scenarios, runs, seed, keep_losses=html_path is not None, tolerance=tolerance)
    _emit_risk(result, fmt, html_path)


@risk_group.command("compare")
@_runs_option
@_seed_option
@click.option("--breach-preset", default="iris-2022-breach", show_default=True, help="Security preset.")
@click.option("--outages-per-year", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True)
@click.option(
    "--cost-per-hour",
    type=click.FloatRange(0, min_open=True),
    default=100_000.0,
    show_default=True,
    help="What an hour of outage costs.",
)
@_risk_format
@_risk_html
def risk_compare_command(
    runs: int,
    seed: int,
    breach_preset: str,
    outages_per_year: float,
    cost_per_hour: float,
    fmt: str,
    html_path: Path | None,
) -> None:
    """Security incidents next to outages on one money scale: rare and large against frequent and smaller.

    The breach preset is Cyentia IRIS 2022's lognormal loss; outages last lognormal(0.1, 1.7) hours at
    --cost-per-hour each. See docs/risk-model.md for sources.

    Example: seclo risk compare --outages-per-year 24 --cost-per-hour 50000 --html risk.html
    """
    from seclo.risk.portfolio import run_portfolio  # noqa: PLC0415
    from seclo.risk.scenario import preset_scenario  # noqa: PLC0415

    scenarios = (
        preset_scenario(breach_preset, name="security-breach"),
        preset_scenario("outage", name="outages", rate=outages_per_year, cost_per_unit=cost_per_hour),
    )
    if fmt == "table":
        from seclo.console import render_table  # noqa: PLC0415

        render_table(
            "Per event",
            ["scenario", "events per year", "median loss", "p95 loss", "p99 loss", "mean loss"],
            [
                (
                    s.name,
                    f"{s.baseline.frequency.rate:g}",
                    _money(s.baseline.severity.median),
                    _money(s.baseline.severity.quantile(0.95)),
                    _money(s.baseline.severity.quantile(0.99)),
                    _money(s.baseline.severity.mean),
                )
                for s in scenarios
            ],
        )
    result = run_portfolio(scenarios, runs, seed, keep_losses=html_path is not None)
    _emit_risk(result, fmt, html_path, "Security incidents and outages")


@risk_group.command("calibrate")
@click.option(
    "--kind", type=click.Choice(["security", "outage"]), required=True, help="Incident kind to fit."
)
@click.option(
    "--since", "since_text", metavar="ISO8601", help="First day of history [default: first incident]."
)
@click.option("--until", "until_text", metavar="ISO8601", help="End of history [default: now].")
@click.option("--name", help="Scenario name [default: KIND-incidents].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the scenario file here.")
@workspace_option
def risk_calibrate_command(
    kind: str,
    since_text: str | None,
    until_text: str | None,
    name: str | None,
    out: Path | None,
    workspace: Path | None,
) -> None:
    """Fit a Poisson rate and a lognormal loss (maximum likelihood, 95% intervals) to the incidents table.

    Example: seclo risk calibrate --kind security --out risk/breaches.yaml
    """
    from seclo.atomic import write_text_atomic  # noqa: PLC0415
    from seclo.risk.calibrate import calibrate, scenario_yaml  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = _open_workspace(workspace)
    with open_store(ws.store_path, read_only=True) as store:
        fit = calibrate(store, kind, _parse_time(since_text), _parse_time(until_text))
    text = scenario_yaml(name or f"{kind}-incidents", fit)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        click.echo(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, mapping seclo errors to a message and exit code 2."""
    try:
        # Without standalone mode click returns a command's exit code (click.exceptions.Exit) instead of exiting.
        code = cli.main(args=argv, prog_name="seclo", standalone_mode=False)
    except SecloError as exc:
        click.echo(f"error: {exc}", err=True)
        if exc.tip:
            click.echo(f"Tip: {exc.tip}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
