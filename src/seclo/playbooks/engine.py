"""The engine: from a trigger occurrence to a recorded run.

For each occurrence the engine checks conditions, the idempotency key (playbook + occurrence, a UNIQUE column
of playbook_runs, so each occurrence runs at most once even across processes), the mode and the rate limit, and
then runs the steps in order. A failing step stops the run. Destructive and approval steps wait for a person
unless the playbook is automatic. Everything decided and done is appended to the hash-chained audit trail, with
secrets redacted and outputs reduced to digests. A dry run evaluates and renders, and writes and sends nothing.

Store access is serialised by one lock (a DuckDB connection is not for concurrent use); steps run outside it,
so several runs (one per webhook) can be in their steps at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import duckdb

from seclo.errors import ConfigError, InputError
from seclo.playbooks.actions import ActionContext, ActionError, prepare
from seclo.playbooks.alertmanager import parse_payload
from seclo.playbooks.audit import AuditLog
from seclo.playbooks.loader import LoadedPlaybook
from seclo.playbooks.model import PUSHED_TRIGGERS, AlertmanagerTrigger, ManualTrigger, Playbook, Step
from seclo.playbooks.outcomes import Guide, Observer, RunOutcome, StepOutcome, StepReport
from seclo.playbooks.redaction import Redactor, load_secrets, placeholder
from seclo.playbooks.templates import PlaybookTemplateError, evaluate_condition, render_text, render_value
from seclo.playbooks.triggers import (
    Occurrence,
    Signals,
    alertmanager_occurrences,
    manual_occurrence,
    occurrences,
)
from seclo.store import Store
from seclo.store.pending import load_pending
from seclo.store.sql import run, scalar

if TYPE_CHECKING:
    from collections.abc import Callable

    from seclo.slo.status import SloResult
    from seclo.workspace import Workspace

__all__ = ["PlaybookRunner", "utc_now"]

log = logging.getLogger("seclo.playbooks")


def utc_now() -> datetime:
    """Now, as naive UTC (how the store keeps time)."""
    return datetime.now(UTC).replace(tzinfo=None)


class _Render:
    """Renders templates against one context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context

    def text(self, template: str) -> str:
        return render_text(template, self.context)

    def value(self, value: Any) -> Any:
        return render_value(value, self.context)


def _needs_approval(playbook: Playbook, step: Step) -> bool:
    return playbook.spec.mode != "automatic" and (step.type == "approval" or step.destructive)


class PlaybookRunner:
    """Runs a workspace's playbooks against one store.

    Args:
        workspace: the workspace (commands run in its folder; SLO and finding triggers read its settings).
        store: the store runs and the audit trail are written to (read-only is enough for dry runs).
        playbooks: the loaded playbooks.
        env: where secrets are read from (default: os.environ).
        observer: told when each step starts.
        slo_results: how SLO triggers get the SLO results (default: evaluate the workspace's slos/).
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        playbooks: Sequence[LoadedPlaybook],
        *,
        env: Mapping[str, str] | None = None,
        observer: Observer | None = None,
        slo_results: Callable[[], Sequence[SloResult]] | None = None,
    ) -> None:
        import os  # noqa: PLC0415

        self.workspace = workspace
        self.store = store
        self.playbooks = {p.name: p for p in playbooks}
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.observer = observer
        self.slo_results = slo_results
        self.lock = threading.RLock()
        declared = {name for p in playbooks for name in p.playbook.spec.secrets}
        self.redactor = Redactor.of({n: self.env[n] for n in declared if self.env.get(n)})
        self.audit = AuditLog(store, self.redactor.value, self.lock)
        # Polled triggers see the same occurrence at every evaluation: a decision not to run is audited when it
        # changes, not at every refresh.
        self._memo: dict[str, str] = {}

    # Entry points --------------------------------------------------------------------------------------------

    def playbook(self, name: str) -> LoadedPlaybook:
        """The playbook called `name`.

        Raises:
            InputError: there is none.
        """
        try:
            return self.playbooks[name]
        except KeyError:
            known = ", ".join(sorted(self.playbooks)) or "none"
            raise InputError(
                f"no playbook named {name!r} (playbooks: {known})", tip="seclo playbook list"
            ) from None

    def evaluate(
        self, *, at: datetime | None = None, dry_run: bool = False, names: Sequence[str] | None = None
    ) -> list[RunOutcome]:
        """Evaluate every polled trigger once (SLO alerts, policy steps, experiments, findings, schedules) and
        run what fires. This is what `seclo serve` calls on each refresh."""
        moment = at or utc_now()
        chosen = [self.playbook(n) for n in names] if names else list(self.playbooks.values())
        with self.lock:
            signals = Signals(
                self.workspace, self.store, moment, write=not dry_run, slo_results=self.slo_results
            )
            pending = [
                (lp, occ)
                for lp in chosen
                if lp.playbook.spec.trigger.type not in PUSHED_TRIGGERS
                for occ in occurrences(lp.playbook.spec.trigger, signals)
            ]
        return [self._process(lp, occ, dry_run=dry_run, polled=True) for lp, occ in pending]

    def handle_alertmanager(self, payload: Any, *, dry_run: bool = False) -> list[RunOutcome]:
        """Run the playbooks whose Alertmanager trigger matches alerts of a webhook payload (v4 JSON, decoded or
        raw). `seclo serve` calls this as each webhook arrives.

        Raises:
            InputError: the payload is not an Alertmanager webhook.
        """
        parsed = parse_payload(payload)
        outcomes: list[RunOutcome] = []
        for lp in self.playbooks.values():
            trigger = lp.playbook.spec.trigger
            if isinstance(trigger, AlertmanagerTrigger):
                for occ in alertmanager_occurrences(trigger, parsed):
                    outcomes.append(self._process(lp, occ, dry_run=dry_run, polled=False))
        return outcomes

    def run(
        self,
        name: str,
        *,
        at: datetime | None = None,
        dry_run: bool = False,
        guide: Guide | None = None,
        payload: Any = None,
    ) -> list[RunOutcome]:
        """Run one playbook on demand: a manual trigger runs once; an Alertmanager trigger needs `payload`;
        other triggers are evaluated now and each occurrence runs (at most once, as always)."""
        lp = self.playbook(name)
        trigger = lp.playbook.spec.trigger
        if isinstance(trigger, ManualTrigger):
            pending = [manual_occurrence(utc_now())]
        elif isinstance(trigger, AlertmanagerTrigger):
            if payload is None:
                raise InputError(
                    f"playbook {name} is triggered by Alertmanager webhooks",
                    tip="pass one with --payload FILE, or let seclo serve receive them",
                )
            pending = alertmanager_occurrences(trigger, parse_payload(payload))
        else:
            with self.lock:
                signals = Signals(
                    self.workspace,
                    self.store,
                    at or utc_now(),
                    write=not dry_run,
                    slo_results=self.slo_results,
                )
                pending = occurrences(trigger, signals)
        return [self._process(lp, occ, dry_run=dry_run, polled=False, guide=guide) for occ in pending]

    def approve(self, run_id: str, step: str, *, approver: str, note: str = "") -> RunOutcome:
        """Approve the step a run waits at, and run the rest of it.

        Raises:
            InputError: no such run, no such step, or the run is not waiting at that step.
        """
        with self.lock:
            rows = self.store.conn.execute(
                'SELECT playbook, "mode", status, next_step, context, occurrence, trigger_type '
                "FROM playbook_runs WHERE run_id = ?",
                [run_id],
            ).fetchall()
            if not rows:
                raise InputError(f"no playbook run {run_id!r}", tip="seclo playbook history --runs")
            name, mode, status, next_step, context_text, occ_key, trigger_type = rows[0]
            lp = self.playbook(name)
            steps = lp.playbook.spec.steps
            try:
                index = lp.playbook.step_index(step)
            except ValueError:
                raise InputError(f"playbook {name} has no step {step!r}") from None
            if status != "waiting_approval":
                raise InputError(f"run {run_id} is {status}, not waiting for an approval")
            if index != next_step:
                raise InputError(
                    f"run {run_id} waits at step {steps[next_step].name}, not {steps[index].name}"
                )
            self.audit.append(
                "approval",
                {"approver": approver, "note": note},
                run_id=run_id,
                playbook=name,
                step=steps[index].name,
            )
            run(self.store.conn, "UPDATE playbook_runs SET status = 'running' WHERE run_id = ?", [run_id])
        context = json.loads(context_text or "{}")
        occ = Occurrence(trigger_type, occ_key, "", context.get("trigger", {}))
        return self._execute(lp, run_id, occ, context.get("steps", {}), index, mode, None)

    # The decision ------------------------------------------------------------------------------------------

    def _context(
        self,
        playbook: Playbook,
        occ: Occurrence,
        outputs: Mapping[str, Any],
        run_id: str,
        mode: str,
        *,
        real: bool,
    ) -> dict[str, Any]:
        if real:
            secrets = load_secrets(playbook.spec.secrets, self.env)
        else:
            secrets = {n: placeholder(n) for n in playbook.spec.secrets}
        return {
            "trigger": occ.fields,
            "steps": dict(outputs),
            "secrets": secrets,
            "playbook": {"name": playbook.name, "mode": mode},
            "run": {"id": run_id, "dry_run": not real},
            "now": utc_now().isoformat(timespec="seconds") + "Z",
        }

    def _decide(
        self, lp: LoadedPlaybook, occ: Occurrence, decision: str, detail: Mapping[str, Any], polled: bool
    ) -> None:
        key = f"{lp.name}:{occ.key}"
        if polled and self._memo.get(key) == decision:
            return
        self._memo[key] = decision
        self.audit.append(
            "decision",
            {"decision": decision, "occurrence": occ.key, "trigger": occ.trigger_type, **detail},
            playbook=lp.name,
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Hold the lock and run a block in one store transaction (one commit instead of one per statement)."""
        with self.lock:
            try:
                with self.store.transaction():
                    yield
            except BaseException:
                self.audit.forget_tail()  # the records of the rolled-back block are not in the chain
                raise

    def _claimed(self, key: str) -> bool:
        return bool(
            scalar(self.store.conn, "SELECT count(*) FROM playbook_runs WHERE idempotency_key = ?", [key])
        )

    def _process(  # noqa: PLR0911 - one return per decision reads clearer than nesting them
        self, lp: LoadedPlaybook, occ: Occurrence, *, dry_run: bool, polled: bool, guide: Guide | None = None
    ) -> RunOutcome:
        playbook = lp.playbook
        key = f"{playbook.name}:{occ.key}"
        mode = "manual" if guide is not None else playbook.spec.mode
        context = self._context(playbook, occ, {}, "(dry run)" if dry_run else "", mode, real=False)
        try:
            checks = [(c, evaluate_condition(c, context)) for c in playbook.spec.conditions]
        except PlaybookTemplateError as exc:
            message = self.redactor.text(str(exc))
            if not dry_run:
                with self.lock:
                    self._decide(lp, occ, "error", {"error": message}, polled)
            return RunOutcome(playbook.name, occ, "error", detail=message)
        failed = [c for c, ok in checks if not ok]
        conditions = dict(checks)
        if dry_run:
            return self._plan(lp, occ, context, failed, key)
        with self.lock:
            if self._claimed(key):
                if not polled:
                    self._decide(lp, occ, "duplicate", {"key": key}, polled)
                return RunOutcome(playbook.name, occ, "duplicate", detail=f"already ran for {occ.key}")
            if failed:
                self._decide(lp, occ, "conditions_false", {"conditions": conditions}, polled)
                return RunOutcome(
                    playbook.name, occ, "conditions_false", detail="not met: " + "; ".join(failed)
                )
            if mode == "manual" and guide is None:
                detail = f"manual playbook: run it with seclo playbook run {playbook.name} --manual"
                self._decide(lp, occ, "manual_only", {"conditions": conditions}, polled)
                return RunOutcome(playbook.name, occ, "manual_only", detail=detail)
            limit = playbook.spec.rate_limit
            if limit is not None:
                since = utc_now() - limit.per
                recent = int(
                    scalar(
                        self.store.conn,
                        "SELECT count(*) FROM playbook_runs WHERE playbook = ? AND started_at > ?",
                        [playbook.name, since],
                    )
                )
                if recent >= limit.max_runs:
                    detail = f"{recent} runs within {limit.per}, the limit is {limit.max_runs}"
                    self._decide(lp, occ, "rate_limited", {"recent_runs": recent}, polled)
                    return RunOutcome(playbook.name, occ, "rate_limited", detail=detail)
            run_id = uuid.uuid4().hex[:16]
            started = utc_now()
            context_text = json.dumps(self.redactor.value({"trigger": occ.fields, "steps": {}}), default=str)
            try:
                # One transaction, so claiming the occurrence and its first records cost one commit.
                with self._transaction():
                    run(
                        self.store.conn,
                        "INSERT INTO playbook_runs VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'running', 0, NULL, NULL, ?)",
                        [run_id, playbook.name, mode, occ.trigger_type, occ.key, key, started, context_text],
                    )
                    self._decide(
                        lp, occ, "run", {"conditions": conditions, "mode": mode, "run_id": run_id}, False
                    )
                    self.audit.append(
                        "run_start",
                        {"occurrence": occ.key, "summary": occ.summary, "mode": mode, "trigger": occ.fields},
                        run_id=run_id,
                        playbook=playbook.name,
                    )
            except duckdb.ConstraintException:
                # Another process claimed the occurrence between our check and the insert.
                self._decide(lp, occ, "duplicate", {"key": key}, polled)
                return RunOutcome(playbook.name, occ, "duplicate", detail=f"already ran for {occ.key}")
            self._memo.pop(key, None)
        log.info("playbook %s run %s started for %s", playbook.name, run_id, self.redactor.text(occ.summary))
        return self._execute(lp, run_id, occ, {}, 0, mode, guide)

    def _plan(
        self, lp: LoadedPlaybook, occ: Occurrence, context: Mapping[str, Any], failed: list[str], key: str
    ) -> RunOutcome:
        """A dry run: what would happen, with nothing written or sent."""
        playbook = lp.playbook
        if failed:
            return RunOutcome(playbook.name, occ, "conditions_false", detail="not met: " + "; ".join(failed))
        if self._claimed(key):
            return RunOutcome(playbook.name, occ, "duplicate", detail=f"already ran for {occ.key}")
        reports = []
        for step in playbook.spec.steps:
            needs = _needs_approval(playbook, step)
            try:
                action = self.redactor.value(prepare(step, _Render(context)).describe())
            except (PlaybookTemplateError, ActionError) as exc:
                # Later steps may refer to outputs that only a real run produces.
                action, note = {}, f"rendered at run time ({self.redactor.text(str(exc))})"
            else:
                note = "would run" + (" after approval" if needs else "")
            reports.append(StepReport(step.name, step.type, "would_run", note, action, needs))
        detail = f"mode {playbook.spec.mode}: nothing was run or recorded (dry run)"
        return RunOutcome(playbook.name, occ, "dry_run", steps=tuple(reports), detail=detail)

    # The run -----------------------------------------------------------------------------------------------

    def _approved(self, run_id: str, step: str) -> bool:
        return bool(
            scalar(
                self.store.conn,
                "SELECT count(*) FROM playbook_audit WHERE run_id = ? AND step = ? AND event = 'approval'",
                [run_id, step],
            )
        )

    def _save(self, run_id: str, occ: Occurrence, outputs: Mapping[str, Any], **columns: Any) -> None:
        context = json.dumps({"trigger": occ.fields, "steps": outputs}, default=str)
        sets = ", ".join(f"{name} = ?" for name in columns)
        run(
            self.store.conn,
            f"UPDATE playbook_runs SET {sets}{', ' if sets else ''}context = ? WHERE run_id = ?",
            [*columns.values(), self.redactor.text(context), run_id],
        )

    def _record(
        self, run_id: str, playbook: str, step: str, kind: str, subject: str, fields: Mapping[str, Any]
    ) -> None:
        text = json.dumps(self.redactor.value(dict(fields)), default=str, sort_keys=True)
        with self.lock:
            run(
                self.store.conn,
                "INSERT INTO playbook_records VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    utc_now(),
                    run_id,
                    playbook,
                    step,
                    self.redactor.text(kind),
                    self.redactor.text(subject),
                    text,
                ],
            )

    def _finish(
        self,
        lp: LoadedPlaybook,
        run_id: str,
        occ: Occurrence,
        outputs: Mapping[str, Any],
        status: str,
        reports: list[StepReport],
        failed_step: str | None = None,
        error: str | None = None,
    ) -> RunOutcome:
        with self.lock:
            self._save(
                run_id,
                occ,
                outputs,
                status=status,
                finished_at=utc_now(),
                failed_step=failed_step,
                error=error,
            )
            if error is not None:
                self.audit.append(
                    "error", {"error": error}, run_id=run_id, playbook=lp.name, step=failed_step
                )
            self.audit.append("run_end", {"status": status}, run_id=run_id, playbook=lp.name)
        log.info("playbook %s run %s %s%s", lp.name, run_id, status, f": {error}" if error else "")
        return RunOutcome(lp.name, occ, "ran", run_id, status, tuple(reports), error or "")

    def _execute(
        self,
        lp: LoadedPlaybook,
        run_id: str,
        occ: Occurrence,
        outputs: dict[str, Any],
        start: int,
        mode: str,
        guide: Guide | None,
    ) -> RunOutcome:
        playbook = lp.playbook
        reports: list[StepReport] = []
        for index in range(start, len(playbook.spec.steps)):
            step = playbook.spec.steps[index]
            try:
                context = self._context(playbook, occ, outputs, run_id, mode, real=True)
                prepared = prepare(step, _Render(context))
            except (PlaybookTemplateError, ActionError, ConfigError) as exc:
                message = self.redactor.text(f"step {step.name}: {exc}")
                reports.append(StepReport(step.name, step.type, "failed", message, error=message))
                return self._finish(lp, run_id, occ, outputs, "failed", reports, step.name, message)
            action = self.redactor.value(prepared.describe())
            needs = _needs_approval(playbook, step)
            if guide is not None:
                choice, note = guide.choose(playbook.name, index, step, action)
                with self.lock:
                    self.audit.append(
                        "manual",
                        {"choice": choice, "note": note},
                        run_id=run_id,
                        playbook=playbook.name,
                        step=step.name,
                    )
                if choice != "confirm":
                    outcome: StepOutcome = "skipped" if choice == "skip" else "done_by_hand"
                    outputs[step.name] = {outcome: True, "note": self.redactor.text(note)}
                    reports.append(StepReport(step.name, step.type, outcome, note or outcome, action, needs))
                    continue
            elif needs and not self._approved(run_id, step.name):
                with self.lock:
                    self._save(run_id, occ, outputs, status="waiting_approval", next_step=index)
                    self.audit.append(
                        "approval_requested",
                        {"action": action},
                        run_id=run_id,
                        playbook=playbook.name,
                        step=step.name,
                    )
                summary = f"waiting for approval: seclo playbook approve {run_id} {step.name}"
                reports.append(StepReport(step.name, step.type, "waiting_approval", summary, action, True))
                log.info("playbook %s run %s waits for approval of %s", playbook.name, run_id, step.name)
                return RunOutcome(
                    playbook.name, occ, "ran", run_id, "waiting_approval", tuple(reports), summary
                )
            with self._transaction():
                self._save(run_id, occ, outputs, next_step=index)
                self.audit.append(
                    "step_start",
                    {"type": step.type, "action": action, "timeout_seconds": step.timeout.total_seconds()},
                    run_id=run_id,
                    playbook=playbook.name,
                    step=step.name,
                )
            if self.observer is not None:
                self.observer.step_started(run_id, playbook.name, step.name, occ)
            log.info("playbook %s run %s step %s started", playbook.name, run_id, step.name)
            began = time.monotonic()
            result = prepared.execute(
                ActionContext(
                    run_id,
                    playbook.name,
                    step.name,
                    step.timeout.total_seconds(),
                    self.workspace.root,
                    partial(self._record, run_id, playbook.name, step.name),
                )
            )
            seconds = time.monotonic() - began
            if step.type == "experiment" and self.store.path is not None:
                # The experiment's process could not write the store this runner holds: load the row it left.
                with self.lock:
                    load_pending(self.store.conn, self.store.path)
            outputs[step.name] = self.redactor.value(result.values)
            summary = self.redactor.text(result.summary)
            error = None if result.error is None else self.redactor.text(result.error)
            with self._transaction():
                self.audit.append(
                    "step_end",
                    {
                        "ok": result.ok,
                        "seconds": round(seconds, 6),
                        "output_sha256": result.digest,
                        "output_bytes": len(result.output),
                        "summary": summary,
                        "error": error,
                    },
                    run_id=run_id,
                    playbook=playbook.name,
                    step=step.name,
                )
            log.info(
                "playbook %s run %s step %s %s: %s",
                playbook.name,
                run_id,
                step.name,
                "ok" if result.ok else "failed",
                summary,
            )
            if not result.ok:
                reports.append(StepReport(step.name, step.type, "failed", summary, action, needs, error))
                return self._finish(lp, run_id, occ, outputs, "failed", reports, step.name, error)
            reports.append(StepReport(step.name, step.type, "ok", summary, action, needs))
        return self._finish(lp, run_id, occ, outputs, "succeeded", reports)
