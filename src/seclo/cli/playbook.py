"""`seclo playbook ...`: parse, build the engine, print what it did. The library is seclo.playbooks."""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from seclo.cli.http_access import http_access, http_access_options
from seclo.cli.options import cli_now, parse_time, workspace_option
from seclo.cli.terminal import render_table, terminal_text
from seclo.errors import InputError
from seclo.workspace import Workspace

if TYPE_CHECKING:
    from seclo.playbooks import PlaybookRunner, RunOutcome
    from seclo.playbooks.model import Step
    from seclo.playbooks.outcomes import ManualChoice

__all__ = ["playbook_group"]

LOG_NAME = ".seclo/playbooks.log"


def _log_to_workspace(ws: Workspace) -> None:
    """Send the engine's log (secrets already redacted) to .seclo/playbooks.log in the workspace."""
    logger = logging.getLogger("seclo.playbooks")
    path = ws.root / LOG_NAME
    if any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path for h in logger.handlers):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # backslashreplace: a lone surrogate from a webhook's JSON is written escaped, never dropped with an error.
    handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@contextmanager
def _runner(workspace: Path | None, *, dry_run: bool = False) -> Iterator[PlaybookRunner]:
    from seclo.playbooks import PlaybookRunner, load_playbooks  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = Workspace.open(workspace)
    playbooks = load_playbooks(ws.root / "playbooks")
    settings = ws.settings.store
    if dry_run:
        # A dry run writes nothing: read-only, or a throwaway store when there is none yet.
        path = ws.store_path if ws.store_path.exists() else None
        store = open_store(path, read_only=path is not None, memory_limit=settings.memory_limit)
    else:
        _log_to_workspace(ws)
        store = open_store(ws.store_path, memory_limit=settings.memory_limit, threads=settings.threads)
    with store, PlaybookRunner(ws, store, playbooks) as runner:
        yield runner


def _show(outcomes: Sequence[RunOutcome], *, verbose: bool) -> int:
    """Print each outcome; return 1 when a run failed or an occurrence could not be run (decision error).

    Summaries quote alert labels and step output: they are shown through `terminal_text`, never raw.
    """
    if not outcomes:
        click.echo("nothing triggered")
    failed = False
    for outcome in outcomes:
        head = f"{outcome.playbook}: {outcome.decision}"
        if outcome.run_id:
            head += f" run {outcome.run_id} {outcome.status}"
        click.echo(terminal_text(f"{head} ({outcome.occurrence.summary or outcome.occurrence.key})"))
        if outcome.detail and outcome.decision != "ran":
            click.echo(terminal_text(f"  {outcome.detail}"))
        for number, step in enumerate(outcome.steps, start=1):
            click.echo(terminal_text(f"  {number}. {step.name} [{step.type}] {step.outcome}: {step.summary}"))
            if verbose and step.action:
                click.echo("     " + json.dumps(step.action, sort_keys=True, default=str))
        failed = failed or outcome.status == "failed" or outcome.decision == "error"
    return 1 if failed else 0


class ClickGuide:
    """Walks a person through a manual run with prompts."""

    def choose(
        self, playbook: str, index: int, step: Step, action: dict[str, Any]
    ) -> tuple[ManualChoice, str]:
        """Show the step and ask: confirm (seclo does it), done (by hand), skip, or note."""
        click.echo(
            f"\n{playbook} step {index + 1}: {step.name} [{step.type}]"
            + (" (destructive)" if step.destructive else "")
        )
        if step.description:
            click.echo(f"  {step.description}")
        click.echo("  " + json.dumps(action, sort_keys=True, default=str))
        try:
            return self._ask()
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None  # the engine ends the run `failed`, then click says "Aborted!"

    @staticmethod
    def _ask() -> tuple[ManualChoice, str]:
        notes: list[str] = []
        while True:
            choice = click.prompt(
                "  confirm (seclo does it now), done (you did it by hand), skip, or note",
                type=click.Choice(["confirm", "done", "skip", "note"]),
                default="confirm",
            )
            if choice == "note":
                notes.append(click.prompt("  note", default="", show_default=False))
                continue
            picked: ManualChoice = (
                "confirm" if choice == "confirm" else "done" if choice == "done" else "skip"
            )
            return picked, "\n".join(n for n in notes if n)


def _time(value: str | None) -> Any:
    import os  # noqa: PLC0415

    if value is None:
        # Unpinned, the engine's own clock decides (claims and approvals use it too). cli_now is the CLI's one
        # clock, pinned by $SECLO_NOW.
        return cli_now() if os.environ.get("SECLO_NOW") else None
    return parse_time(value)


_at_option = click.option(
    "--at", "at_text", metavar="ISO8601", help="Evaluate as of this time [default: now]."
)


@click.group("playbook")
def playbook_group() -> None:
    """Automation playbooks: triggers, conditions and steps, run manually, with approval, or automatically.

    Example: seclo playbook run page-on-burn --dry-run
    """


@playbook_group.command("list")
@workspace_option
def list_command(workspace: Path | None) -> None:
    """List the playbooks in the workspace's playbooks/ folder (validating every file).

    Example: seclo playbook list
    """
    from seclo.playbooks import load_playbooks  # noqa: PLC0415

    ws = Workspace.open(workspace)
    loaded = load_playbooks(ws.root / "playbooks")
    render_table(
        f"Playbooks in {ws.root / 'playbooks'}",
        ["name", "mode", "trigger", "steps", "file"],
        [
            (
                lp.name,
                lp.playbook.spec.mode,
                lp.playbook.spec.trigger.type,
                ", ".join(s.name for s in lp.playbook.spec.steps),
                lp.path.name,
            )
            for lp in loaded
        ],
    )


@playbook_group.command("run")
@click.argument("name")
@click.option(
    "--manual", is_flag=True, help="Walk a person through the steps: confirm, done by hand, skip, note."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Evaluate the trigger and conditions and print what would run; do nothing.",
)
@click.option(
    "--payload",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An Alertmanager webhook JSON body, for playbooks it triggers.",
)
@_at_option
@workspace_option
def run_command(
    name: str, manual: bool, dry_run: bool, payload: Path | None, at_text: str | None, workspace: Path | None
) -> None:
    """Run playbook NAME now: a manual trigger runs once, other triggers run for each occurrence now (each
    occurrence at most once).

    \b
    Exit codes:
      0  every run succeeded, waits for an approval, or nothing triggered
      1  a run failed (the failing step and its error are recorded)
      2  bad input: an invalid playbook file, an unknown name, a missing secret

    Example: seclo playbook run disable-no-mfa --dry-run
    """
    if manual and dry_run:
        raise InputError("--manual and --dry-run do not go together", tip="use --dry-run to preview first")
    body = payload.read_bytes() if payload is not None else None
    with _runner(workspace, dry_run=dry_run) as runner:
        outcomes = runner.run(
            name, at=_time(at_text), dry_run=dry_run, guide=ClickGuide() if manual else None, payload=body
        )
    code = _show(outcomes, verbose=dry_run)
    if code:
        raise click.exceptions.Exit(code)


@playbook_group.command("evaluate")
@click.option("--dry-run", is_flag=True, help="Show what would run; do nothing.")
@_at_option
@workspace_option
def evaluate_command(dry_run: bool, at_text: str | None, workspace: Path | None) -> None:
    """Evaluate every polled trigger once (SLO alerts, budget policy steps, experiment verdicts, findings past
    SLA, known-exploited findings, schedules) and run what fires: what `seclo serve` does on each refresh.

    Example: seclo playbook evaluate --dry-run
    """
    with _runner(workspace, dry_run=dry_run) as runner:
        outcomes = runner.evaluate(at=_time(at_text), dry_run=dry_run)
    code = _show(outcomes, verbose=dry_run)
    if code:
        raise click.exceptions.Exit(code)


@playbook_group.command("approve")
@click.argument("run_id")
@click.argument("step")
@click.option("--by", "approver", help="Who approves [default: the current user].")
@click.option("--note", default="", help="Why, for the audit trail.")
@workspace_option
def approve_command(run_id: str, step: str, approver: str | None, note: str, workspace: Path | None) -> None:
    """Approve STEP (name or number) of a run waiting for it, and run the rest of the playbook.

    Example: seclo playbook approve 3f2a9c0d1e4b5a6c disable_account --note "checked with the owner"
    """
    with _runner(workspace) as runner:
        outcome = runner.approve(run_id, step, approver=approver or getpass.getuser(), note=note)
    code = _show([outcome], verbose=False)
    if code:
        raise click.exceptions.Exit(code)


@playbook_group.command("history")
@click.option("--runs", "show_runs", is_flag=True, help="Also list the latest runs.")
@click.option("--playbook", "name", help="Only this playbook's runs.")
@workspace_option
def history_command(show_runs: bool, name: str | None, workspace: Path | None) -> None:
    """How often each playbook ran, and in which mode: the evidence for "automate it the second time".

    Example: seclo playbook history --runs
    """
    from seclo.playbooks.history import mode_history, recent_runs  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = Workspace.open(workspace)
    with open_store(ws.store_path, read_only=True) as store:
        history = [h for h in mode_history(store) if name in (None, h.playbook)]
        runs = recent_runs(store, name) if show_runs else ()
    render_table(
        "Playbook runs by mode",
        ["playbook", "mode", "runs", "succeeded", "failed", "waiting", "first", "last"],
        [
            (
                h.playbook,
                h.mode,
                h.runs,
                h.succeeded,
                h.failed,
                h.waiting,
                f"{h.first:%Y-%m-%d %H:%M}",
                f"{h.last:%Y-%m-%d %H:%M}",
            )
            for h in history
        ],
    )
    manual = {h.playbook: h.runs for h in history if h.mode == "manual"}
    for playbook, count in manual.items():
        if count >= 2 and not any(h.playbook == playbook and h.mode != "manual" for h in history):
            click.echo(
                f"{playbook}: run by hand {count} times; consider mode: approval (automate it the second time)"
            )
    if show_runs:
        render_table(
            "Latest runs",
            ["run", "playbook", "mode", "status", "started", "occurrence", "failed step", "error"],
            [
                (
                    r.run_id,
                    r.playbook,
                    r.mode,
                    r.status,
                    f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                    r.occurrence,
                    r.failed_step or "",
                    r.error or "",
                )
                for r in runs
            ],
        )


def _head(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(digest) != 64:  # a SHA-256 in hex
        raise click.BadParameter("expected SEQ:HASH as printed by verify-audit", param_hint="--expect")
    return int(seq), digest.lower()


@playbook_group.command("verify-audit")
@click.option(
    "--expect",
    metavar="SEQ:HASH",
    help="A head printed by an earlier verify-audit: the trail must still hold that record with that hash "
    "(finds records removed from the end, or a chain rebuilt from scratch).",
)
@workspace_option
def verify_audit_command(expect: str | None, workspace: Path | None) -> None:
    """Check the audit trail's hash chain, and that every run in playbook_runs has its audit records; exit 1
    naming the first broken record or run. Prints the head (last record's seq and hash): keep it outside the
    store (a ticket, a log) and pass it to --expect later.

    Example: seclo playbook verify-audit --expect 1234:5f0c...
    """
    from seclo.playbooks import verify_chain  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    expected = _head(expect)
    ws = Workspace.open(workspace)
    with open_store(ws.store_path, read_only=True) as store:
        check = verify_chain(store, expected)
    if check.ok:
        click.echo(f"audit trail intact: {check.records} records, head {check.records}:{check.head}")
        return
    if check.broken_seq is not None:
        click.echo(
            terminal_text(
                f"audit trail broken at record {check.broken_seq} of {check.records}: {check.reason}"
            )
        )
    else:
        click.echo(terminal_text(f"audit trail incomplete ({check.records} records): {check.reason}"))
    raise click.exceptions.Exit(1)


@playbook_group.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=9095, show_default=True, help="Port (0: any free)."
)
@http_access_options
@workspace_option
def listen_command(
    host: str,
    port: int,
    auth_token_file: Path | None,
    basic_auth_file: Path | None,
    allow_host: tuple[str, ...],
    insecure_no_auth: bool,
    workspace: Path | None,
) -> None:
    """Receive Alertmanager webhooks (POST, v4 JSON) and run the playbooks they trigger, until interrupted.

    Point an Alertmanager webhook_config at http://HOST:PORT/. `seclo serve` runs playbooks too, on
    POST /alertmanager. The same checks as `seclo serve` apply: Content-Type: application/json, the Host
    header, and the token or basic auth when configured (required beyond 127.0.0.1). A failed run whose
    occurrence has attempts left (the playbook's `retry`) runs again when its backoff expires, without waiting
    for Alertmanager's repeat. When runs can no longer be audited (the recorder stopped), webhooks get 503 and
    the command stops with a non-zero exit: no step runs unaudited.

    Example: SECLO_SERVE_TOKEN=... seclo playbook listen --port 9095
    """
    import signal  # noqa: PLC0415

    from seclo.playbooks.receiver import AlertmanagerReceiver  # noqa: PLC0415

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    access = http_access(auth_token_file, basic_auth_file, allow_host, insecure_no_auth)
    ws = Workspace.open(workspace)
    credentials = access.credentials(ws)
    with _runner(workspace) as runner:
        runner.start_retries()  # a failed run's occurrence runs again when its backoff expires
        receiver = AlertmanagerReceiver(
            runner,
            host,
            port,
            credentials=credentials,
            allowed_hosts=access.allowed_hosts(ws),
            insecure_no_auth=insecure_no_auth,
        ).start()
        # SIGTERM (a service manager's stop) ends like Ctrl-C: runs in progress finish and every record is committed.
        signal.signal(signal.SIGTERM, _terminate)
        click.echo(f"listening on {receiver.url}/", err=True)
        try:
            # The main thread waits for a signal, or for the recorder to stop (then nothing could be audited).
            while not runner.recorder.stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            receiver.close()
        if (why := runner.refusal()) is not None:
            # Closing the engine below then fails too (exit 2), naming the records that were not written.
            click.echo(f"stopped: {why}", err=True)
            raise click.exceptions.Exit(1)
