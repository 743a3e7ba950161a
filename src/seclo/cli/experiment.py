"""`seclo experiment ...`: run, list and recover security chaos experiments."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from seclo.cli.options import open_workspace, workspace_option

if TYPE_CHECKING:
    import threading

    from seclo.experiments.result import RunResult

__all__ = ["experiment_group", "show_run"]


@click.group("experiment")
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


def show_run(result: RunResult, fmt: str) -> None:
    from seclo.cli.terminal import render_table  # noqa: PLC0415

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

    ws = open_workspace(workspace)
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
        show_run(result, fmt)
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
        show_run(last, fmt)
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
    from seclo.cli.terminal import render_table  # noqa: PLC0415
    from seclo.experiments.catalog import workspace_experiments  # noqa: PLC0415
    from seclo.experiments.clock import iso_ms  # noqa: PLC0415

    ws = open_workspace(workspace)
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

    ws = open_workspace(workspace)
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
