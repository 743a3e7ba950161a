"""Step execution: how a started run goes through its steps, and how it ends.

Steps run in order; a failing step stops the run. Destructive and approval steps wait for a person unless the
playbook is automatic. Everything done is appended to the hash-chained audit trail, with secrets redacted and
outputs reduced to digests. A step runs before its claim is committed, so after a crash a redelivered alert may
repeat a step whose claim was not yet durable (at most the recorder's `max_delay` of them, 50 ms by default). A
destructive step therefore waits until its run's claim and its step_start record are committed, and does not run
at all when the claim was refused: destructive actions stay exactly-once and are never performed without their
audit record on disk. While the recorder cannot commit, every step waits in the same way; once it has stopped
for good, no step runs at all (nothing could be audited).

A run never stays `running` because of its step: whatever a step raises, the run ends `failed` with the reason,
and the occurrence may run again after the playbook's retry backoff (seclo.playbooks.claims).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from seclo.errors import ConfigError, InputError, StoreError
from seclo.playbooks.access import StoreAccess
from seclo.playbooks.actions import ActionContext, ActionError, Prepared, StepResult, prepare
from seclo.playbooks.audit import AuditLog
from seclo.playbooks.claims import Claims
from seclo.playbooks.loader import LoadedPlaybook
from seclo.playbooks.model import Playbook, Step
from seclo.playbooks.outcomes import Guide, Observer, RunOutcome, StepOutcome, StepReport
from seclo.playbooks.recorder import Recorder, RunState
from seclo.playbooks.redaction import Redactor, load_secrets, placeholder
from seclo.playbooks.retries import RetryTimer
from seclo.playbooks.templates import PlaybookTemplateError, render_text, render_url, render_value
from seclo.playbooks.triggers import Occurrence
from seclo.store.pending import load_pending

if TYPE_CHECKING:
    from seclo.workspace import Workspace

__all__ = ["Render", "StepExecution", "needs_approval"]

log = logging.getLogger("seclo.playbooks")


class Render:
    """Renders templates against one context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context

    def text(self, template: str) -> str:
        return render_text(template, self.context)

    def url(self, template: str) -> str:
        return render_url(template, self.context)

    def value(self, value: Any) -> Any:
        return render_value(value, self.context)


def needs_approval(playbook: Playbook, step: Step) -> bool:
    """Whether the step waits for a person in the playbook's mode."""
    return playbook.spec.mode != "automatic" and (step.type == "approval" or step.destructive)


class StepExecution:
    """The engine's shared state, and the running of a started run's steps (PlaybookRunner builds on it and
    sets the attributes below in its constructor; `lock` guards the in-memory ones)."""

    workspace: Workspace
    access: StoreAccess
    playbooks: dict[str, LoadedPlaybook]
    env: Mapping[str, str]
    observer: Observer | None
    durable_timeout: float
    clock: Callable[[], datetime]
    lock: threading.RLock
    redactor: Redactor
    recorder: Recorder
    audit: AuditLog
    retries: RetryTimer | None
    _memo: dict[str, str]
    _runs: dict[str, RunState]
    _claims: Claims
    _starts: dict[str, list[datetime]]

    def flush(self) -> None:
        """Wait until everything decided and done so far is committed (before reading the store).

        Raises:
            StoreError: the store could not be written within a minute.
        """
        self.recorder.flush()

    def refusal(self) -> str | None:
        """Why no step can run any more (the recorder stopped: nothing could be audited), or None."""
        broken = self.recorder.broken
        return None if broken is None else f"the playbook recorder stopped: {broken}"

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
        """What templates and conditions see: the secrets themselves in a real run, placeholders otherwise."""
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
            "now": self.clock().isoformat(timespec="seconds") + "Z",
        }

    def _save(self, run_id: str, occ: Occurrence, outputs: Mapping[str, Any], **columns: Any) -> int:
        """Change the run's state in memory and queue it for the store; returns the recorder's ticket."""
        context = self.redactor.text(json.dumps({"trigger": occ.fields, "steps": outputs}, default=str))
        with self.lock:
            state = self._runs[run_id] = replace(self._runs[run_id], context=context, **columns)
            return self.recorder.run_state(state)

    def _record(
        self, run_id: str, playbook: str, step: str, kind: str, subject: str, fields: Mapping[str, Any]
    ) -> None:
        text = json.dumps(self.redactor.value(dict(fields)), default=str, sort_keys=True)
        self.recorder.record(
            (
                self.clock(),
                run_id,
                playbook,
                step,
                self.redactor.text(kind),
                self.redactor.text(subject),
                text,
            )
        )

    def _durable(self, lp: LoadedPlaybook, run_id: str, step: Step, ticket: int) -> str | None:
        """Wait until the run's claim and records up to `ticket` are committed; why not, or None when they are."""
        try:
            self.recorder.wait(ticket, self.durable_timeout)
        except StoreError as exc:
            return f"step {step.name} not started: {exc}"
        if self.recorder.lost(run_id):
            with self.lock:
                self.audit.append(
                    "decision",
                    {"decision": "duplicate", "run_id": run_id, "reason": "another process claimed it first"},
                    run_id=run_id,
                    playbook=lp.name,
                    step=step.name,
                )
            return f"step {step.name} not started: another process ran this occurrence first"
        return None

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
            ended = self.clock()
            self._claims.update(f"{lp.name}:{occ.key}", status, ended)
            # The audit records before the run's row: a run the store shows ended always has its run_end.
            if error is not None:
                self.audit.append(
                    "error", {"error": error}, run_id=run_id, playbook=lp.name, step=failed_step
                )
            self.audit.append("run_end", {"status": status}, run_id=run_id, playbook=lp.name)
            self._save(
                run_id,
                occ,
                outputs,
                status=status,
                finished_at=ended,
                failed_step=failed_step,
                error=error,
            )
            del self._runs[run_id]
        log.info("playbook %s run %s %s%s", lp.name, run_id, status, f": {error}" if error else "")
        return RunOutcome(lp.name, occ, "ran", run_id, status, tuple(reports), error or "")

    def _load_experiment_row(self) -> None:
        """An experiment step's process could not write a store this engine holds: load the row it left."""
        try:
            with self.access.use() as store:
                if store.path is not None:
                    load_pending(store.conn, store.path)
        except StoreError as exc:
            # The row stays in .seclo/pending/, which the next command that writes the store loads.
            log.warning("the experiment's run is left in .seclo/pending/ for now: %s", exc)

    def _guarded(
        self,
        lp: LoadedPlaybook,
        run_id: str,
        occ: Occurrence,
        outputs: dict[str, Any],
        start: int,
        mode: str,
        guide: Guide | None,
        *,
        approved: str | None = None,
    ) -> RunOutcome:
        """Run the steps; when the recorder stops under the run, stop it there and say so. When the run is
        interrupted (Ctrl-C at a manual prompt or during a step), it ends `failed` before the interruption goes
        on, so it does not stay `running`."""
        try:
            return self._execute(lp, run_id, occ, outputs, start, mode, guide, approved=approved)
        except KeyboardInterrupt as exc:
            if run_id in self._runs and self.recorder.broken is None:
                reason = f"interrupted ({type(exc).__name__}) before the run ended"
                self._finish(lp, run_id, occ, outputs, "failed", [], None, reason)
            raise
        except StoreError as exc:
            with self.lock:
                self._runs.pop(run_id, None)
                self._claims.update(f"{lp.name}:{occ.key}", "failed", self.clock())
            message = self.redactor.text(str(exc))
            log.error("playbook %s run %s stopped, no further step runs: %s", lp.name, run_id, message)  # noqa: TRY400 - one line, no traceback
            return RunOutcome(lp.name, occ, "ran", run_id, "failed", detail=message)

    def _act(self, prepared: Prepared, ctx: ActionContext) -> StepResult:
        """Run one action; what it raises is its failure (the run ends `failed`, never stays `running`)."""
        try:
            return prepared.execute(ctx)
        except Exception as exc:  # an action's bug or an unforeseen input must not escape the run
            message = self.redactor.text(f"step {ctx.step} failed: {type(exc).__name__}: {exc}")
            return StepResult(False, message, error=message)

    def _step_end(self, ctx: ActionContext, result: StepResult, seconds: float) -> tuple[str, str | None]:
        """Audit and log a step's end; returns its summary and error, redacted."""
        summary = self.redactor.text(result.summary)
        error = None if result.error is None else self.redactor.text(result.error)
        with self.lock:
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
                run_id=ctx.run_id,
                playbook=ctx.playbook,
                step=ctx.step,
            )
        state = "ok" if result.ok else "failed"
        log.info("playbook %s run %s step %s %s: %s", ctx.playbook, ctx.run_id, ctx.step, state, summary)
        return summary, error

    def _execute(
        self,
        lp: LoadedPlaybook,
        run_id: str,
        occ: Occurrence,
        outputs: dict[str, Any],
        start: int,
        mode: str,
        guide: Guide | None,
        *,
        approved: str | None = None,
    ) -> RunOutcome:
        playbook = lp.playbook
        reports: list[StepReport] = []
        for index in range(start, len(playbook.spec.steps)):
            step = playbook.spec.steps[index]
            try:
                context = self._context(playbook, occ, outputs, run_id, mode, real=True)
                prepared = prepare(step, Render(context))
            # Whatever a step's rendering raises ends the run `failed`, not the engine.
            except Exception as exc:
                known = isinstance(exc, PlaybookTemplateError | ActionError | ConfigError)
                message = self.redactor.text(
                    f"step {step.name}: {'' if known else type(exc).__name__ + ': '}{exc}"
                )
                reports.append(StepReport(step.name, step.type, "failed", message, error=message))
                return self._finish(lp, run_id, occ, outputs, "failed", reports, step.name, message)
            action = self.redactor.value(prepared.describe())
            needs = needs_approval(playbook, step)
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
            elif needs and step.name != approved:
                with self.lock:
                    self._save(run_id, occ, outputs, status="waiting_approval", next_step=index)
                    del self._runs[run_id]  # approve() reads it back from the store
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
            with self.lock:
                self._save(run_id, occ, outputs, next_step=index)
                ticket = self.audit.append(
                    "step_start",
                    {"type": step.type, "action": action, "timeout_seconds": step.timeout.total_seconds()},
                    run_id=run_id,
                    playbook=playbook.name,
                    step=step.name,
                )
            # A destructive step waits for its records to be on disk; so does every step while the recorder
            # cannot commit (no step runs unaudited beyond the usual commit delay).
            durable = step.destructive or self.recorder.failing is not None
            if durable and (why := self._durable(lp, run_id, step, ticket)) is not None:
                reports.append(StepReport(step.name, step.type, "failed", why, action, needs, why))
                return self._finish(lp, run_id, occ, outputs, "failed", reports, step.name, why)
            if self.observer is not None:
                self.observer.step_started(run_id, playbook.name, step.name, occ)
            log.info("playbook %s run %s step %s started", playbook.name, run_id, step.name)
            began = time.monotonic()
            ctx = ActionContext(
                run_id,
                playbook.name,
                step.name,
                step.timeout.total_seconds(),
                self.workspace.root,
                partial(self._record, run_id, playbook.name, step.name),
                self.redactor.text,
            )
            result = self._act(prepared, ctx)
            if step.type == "experiment":
                self._load_experiment_row()
            outputs[step.name] = self.redactor.value(result.values)
            summary, error = self._step_end(ctx, result, time.monotonic() - began)
            if not result.ok:
                reports.append(StepReport(step.name, step.type, "failed", summary, action, needs, error))
                return self._finish(lp, run_id, occ, outputs, "failed", reports, step.name, error)
            reports.append(StepReport(step.name, step.type, "ok", summary, action, needs))
        return self._finish(lp, run_id, occ, outputs, "succeeded", reports)
