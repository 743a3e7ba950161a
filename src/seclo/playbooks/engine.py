"""The engine: from a trigger occurrence to a recorded run.

For each occurrence the engine checks conditions, the idempotency key (playbook + occurrence), the mode and the
rate limit, and then runs the steps in order. A failing step stops the run. Destructive and approval steps wait
for a person unless the playbook is automatic. Everything decided and done is appended to the hash-chained audit
trail, with secrets redacted and outputs reduced to digests. A dry run evaluates and renders, and writes and
sends nothing.

The time from a trigger to its first step is spent in memory, not in store commits. The claimed keys and recent
run starts are loaded once and kept in memory; the run's state lives in memory while it runs; the claim, the
state changes and the audit records are queued to the recorder, which commits many runs' worth at a time.
Each occurrence still runs at most once: in one process the in-memory claim decides; across processes the
UNIQUE key of playbook_runs refuses the second claim at commit. A step runs before its claim is committed, so
after a crash a redelivered alert may repeat a step whose claim was not yet durable (at most `max_delay` of
them, 50 ms by default). A destructive step therefore waits until its run's claim and its step_start record are
committed, and does not run at all when the claim was refused: destructive actions stay exactly-once and are
never performed without their audit record on disk. While the recorder cannot commit, every step waits in the
same way; once it has stopped for good, no step runs at all (nothing could be audited).

A run never stays `running` because of its step: whatever a step raises, the run ends `failed` with the reason,
and the occurrence may run again after the playbook's retry backoff (seclo.playbooks.claims).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from seclo.errors import ConfigError, InputError, StoreError
from seclo.playbooks.access import HeldStore, StoreAccess
from seclo.playbooks.actions import ActionContext, ActionError, Prepared, StepResult, prepare
from seclo.playbooks.alertmanager import parse_payload
from seclo.playbooks.audit import AuditLog
from seclo.playbooks.claims import Claims, attempt_key
from seclo.playbooks.loader import LoadedPlaybook
from seclo.playbooks.model import PUSHED_TRIGGERS, AlertmanagerTrigger, ManualTrigger, Playbook, Step
from seclo.playbooks.outcomes import Guide, Observer, RunOutcome, StepOutcome, StepReport
from seclo.playbooks.recorder import Recorder, RunState
from seclo.playbooks.redaction import Redactor, load_secrets, placeholder
from seclo.playbooks.templates import (
    PlaybookTemplateError,
    evaluate_condition,
    render_text,
    render_url,
    render_value,
)
from seclo.playbooks.triggers import (
    Occurrence,
    Signals,
    alertmanager_occurrences,
    manual_occurrence,
    occurrences,
)
from seclo.store import Store
from seclo.store.pending import load_pending

if TYPE_CHECKING:
    from collections.abc import Callable

    from seclo.slo.status import SloResult
    from seclo.workspace import Workspace

__all__ = ["PlaybookRunner", "utc_now"]

log = logging.getLogger("seclo.playbooks")


# Runs waiting for an approval, each with the time of its latest request (the last column).
_WAITING = (
    "SELECT r.*, a.requested_at FROM playbook_runs r JOIN (SELECT run_id, max(recorded_at) AS requested_at "
    "FROM playbook_audit WHERE event = 'approval_requested' GROUP BY run_id) a USING (run_id) "
    "WHERE r.status = 'waiting_approval'"
)


def utc_now() -> datetime:
    """Now, as naive UTC (how the store keeps time)."""
    return datetime.now(UTC).replace(tzinfo=None)


class _Render:
    """Renders templates against one context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context

    def text(self, template: str) -> str:
        return render_text(template, self.context)

    def url(self, template: str) -> str:
        return render_url(template, self.context)

    def value(self, value: Any) -> Any:
        return render_value(value, self.context)


def _needs_approval(playbook: Playbook, step: Step) -> bool:
    return playbook.spec.mode != "automatic" and (step.type == "approval" or step.destructive)


class PlaybookRunner:
    """Runs a workspace's playbooks against one store.

    Args:
        workspace: the workspace (commands run in its folder; SLO and finding triggers read its settings).
        store: the store runs and the audit trail are written to (read-only is enough for dry runs): an open
            Store the caller closes after `close()`, or a StoreAccess that opens it for each use.
        playbooks: the loaded playbooks.
        env: where secrets are read from (default: os.environ).
        observer: told when each step starts.
        slo_results: how SLO triggers get the SLO results (default: evaluate the workspace's slos/).
        commit_delay: how long the recorder may hold records before committing them (seconds).
        durable_timeout: how long a step that must wait for its records to be on disk (a destructive step, or
            any step while the recorder cannot commit) waits before it is not run (seconds).
        clock: the current time as naive UTC (default: the system clock); the tests pin it.

    Raises:
        StoreError: the store cannot be read (to load the claimed occurrences).
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store | StoreAccess,
        playbooks: Sequence[LoadedPlaybook],
        *,
        env: Mapping[str, str] | None = None,
        observer: Observer | None = None,
        slo_results: Callable[[], Sequence[SloResult]] | None = None,
        commit_delay: float = 0.05,
        durable_timeout: float = 60.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        import os  # noqa: PLC0415

        self.workspace = workspace
        self.access: StoreAccess = HeldStore(store) if isinstance(store, Store) else store
        self.playbooks = {p.name: p for p in playbooks}
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.observer = observer
        self.slo_results = slo_results
        self.durable_timeout = durable_timeout
        self.clock: Callable[[], datetime] = clock or utc_now
        self.lock = threading.RLock()  # guards the in-memory state below
        declared = {name for p in playbooks for name in p.playbook.spec.secrets}
        self.redactor = Redactor.of({n: self.env[n] for n in declared if self.env.get(n)})
        self.recorder = Recorder(self.access.writer, max_delay=commit_delay)
        self.audit = AuditLog(self.recorder, self.redactor.value)
        # Polled triggers see the same occurrence at every evaluation: a decision not to run is audited when it
        # changes, not at every refresh.
        self._memo: dict[str, str] = {}
        self._runs: dict[str, RunState] = {}  # runs in progress
        self._claims, self._starts = self._load()

    def _load(self) -> tuple[Claims, dict[str, list[datetime]]]:
        """The claimed occurrences, and the recent starts of each rate-limited playbook."""
        limits = [p.playbook.spec.rate_limit for p in self.playbooks.values()]
        longest = max((limit.per for limit in limits if limit is not None), default=None)
        starts: dict[str, list[datetime]] = {}
        with self.access.use() as store:
            claims = Claims.load(store)
            if longest is not None:
                rows = store.conn.execute(
                    "SELECT playbook, started_at FROM playbook_runs WHERE started_at > ? ORDER BY started_at",
                    [self.clock() - longest],
                ).fetchall()
                for name, started in rows:
                    starts.setdefault(name, []).append(started)
        return claims, starts

    # Lifetime ------------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until everything decided and done so far is committed (before reading the store).

        Raises:
            StoreError: the store could not be written within a minute.
        """
        self.recorder.flush()

    def close(self) -> None:
        """Commit what is queued and stop the recorder (before the store is closed).

        Raises:
            StoreError: records could not be committed (the recorder stopped, or the store stayed unwritable).
        """
        self.recorder.close()

    def refusal(self) -> str | None:
        """Why no step can run any more (the recorder stopped: nothing could be audited), or None."""
        broken = self.recorder.broken
        return None if broken is None else f"the playbook recorder stopped: {broken}"

    def __enter__(self) -> PlaybookRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        moment = at or self.clock()
        chosen = [self.playbook(n) for n in names] if names else list(self.playbooks.values())
        expired = [] if dry_run else self.expire_approvals(at=moment)
        with self.access.use() as store:
            signals = Signals(self.workspace, store, moment, write=not dry_run, slo_results=self.slo_results)
            pending = [
                (lp, occ)
                for lp in chosen
                if lp.playbook.spec.trigger.type not in PUSHED_TRIGGERS
                for occ in occurrences(lp.playbook.spec.trigger, signals)
            ]
        return expired + [self._process(lp, occ, dry_run=dry_run, polled=True) for lp, occ in pending]

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
        if not dry_run:
            # A missing secret is the caller's to fix (ConfigError: exit 2), not a failed run.
            load_secrets(lp.playbook.spec.secrets, self.env)
        if isinstance(trigger, ManualTrigger):
            pending = [manual_occurrence(self.clock())]
        elif isinstance(trigger, AlertmanagerTrigger):
            if payload is None:
                raise InputError(
                    f"playbook {name} is triggered by Alertmanager webhooks",
                    tip="pass one with --payload FILE, or let seclo serve receive them",
                )
            pending = alertmanager_occurrences(trigger, parse_payload(payload))
        else:
            with self.access.use() as store:
                signals = Signals(
                    self.workspace, store, at or self.clock(), write=not dry_run, slo_results=self.slo_results
                )
                pending = occurrences(trigger, signals)
        outcomes = [self._process(lp, occ, dry_run=dry_run, polled=False, guide=guide) for occ in pending]
        if not dry_run:
            self.flush()  # a person (or a script) waits for this: what it reports is on disk
        return outcomes

    def approve(self, run_id: str, step: str, *, approver: str, note: str = "") -> RunOutcome:
        """Approve the step a run waits at, and run the rest of it.

        Raises:
            InputError: no such run, no such step, or the run is not waiting at that step.
            StoreError: the recorder stopped (nothing could be audited).
        """
        if (why := self.refusal()) is not None:
            raise StoreError(f"run {run_id} was not approved: {why}")
        self.flush()
        with self.access.use() as store:
            rows = store.conn.execute(_WAITING + " AND r.run_id = ?", [run_id]).fetchall()
            if not rows:
                rows = store.conn.execute(
                    "SELECT *, NULL FROM playbook_runs WHERE run_id = ?", [run_id]
                ).fetchall()
        if not rows:
            raise InputError(f"no playbook run {run_id!r}", tip="seclo playbook history --runs")
        state, requested = RunState(*rows[0][:-1]), rows[0][-1]
        lp = self.playbook(state.playbook)
        steps = lp.playbook.spec.steps
        try:
            index = lp.playbook.step_index(step)
        except ValueError:
            raise InputError(f"playbook {state.playbook} has no step {step!r}") from None
        if state.status != "waiting_approval":
            raise InputError(f"run {run_id} is {state.status}, not waiting for an approval")
        if index != state.next_step:
            raise InputError(
                f"run {run_id} waits at step {steps[state.next_step].name}, not {steps[index].name}"
            )
        if requested is not None and self.clock() > requested + lp.playbook.spec.approval_timeout:
            self._expire(lp, state, requested)
            self.flush()
            raise InputError(
                f"the approval of run {run_id} expired: requested at {requested:%Y-%m-%d %H:%M:%S} UTC, "
                f"the playbook allows {lp.playbook.spec.approval_timeout}",
                tip=f"run the playbook again: seclo playbook run {lp.name}",
            )
        context = json.loads(state.context or "{}")
        occ = Occurrence(state.trigger_type, state.occurrence, "", context.get("trigger", {}))
        with self.lock:
            self._runs[run_id] = replace(state, status="running")
            self.audit.append(
                "approval",
                {"approver": approver, "note": note},
                run_id=run_id,
                playbook=lp.name,
                step=steps[index].name,
            )
            self.recorder.run_state(self._runs[run_id])
            self._claims.update(f"{lp.name}:{state.occurrence}", "running")
        outcome = self._guarded(
            lp, run_id, occ, context.get("steps", {}), index, state.mode, None, approved=steps[index].name
        )
        self.flush()
        return outcome

    def expire_approvals(self, *, at: datetime | None = None) -> list[RunOutcome]:
        """End the runs whose approval request is older than their playbook's `approval_timeout`: each is
        recorded (`approval_expired`, then `run_end`) and marked `expired`. `evaluate` calls this first."""
        moment = at or self.clock()
        self.flush()
        with self.access.use() as store:
            rows = store.conn.execute(_WAITING).fetchall()
        outcomes = []
        for row in rows:
            state, requested = RunState(*row[:-1]), row[-1]
            lp = self.playbooks.get(state.playbook)
            if lp is None or moment <= requested + lp.playbook.spec.approval_timeout:
                continue
            outcomes.append(self._expire(lp, state, requested))
        return outcomes

    def _expire(self, lp: LoadedPlaybook, state: RunState, requested: datetime) -> RunOutcome:
        step = lp.playbook.spec.steps[state.next_step].name
        timeout = lp.playbook.spec.approval_timeout
        detail = f"the approval of step {step} requested at {requested:%Y-%m-%d %H:%M:%S} UTC expired after {timeout}"
        with self.lock:
            # The audit records first: a run the store shows ended always has its run_end (verify-audit).
            self.audit.append(
                "approval_expired",
                {"requested_at": requested, "timeout_seconds": timeout.total_seconds()},
                run_id=state.run_id,
                playbook=lp.name,
                step=step,
            )
            self.audit.append("run_end", {"status": "expired"}, run_id=state.run_id, playbook=lp.name)
            ended = self.clock()
            self.recorder.run_state(
                replace(state, status="expired", finished_at=ended, failed_step=step, error=detail)
            )
            self._claims.update(f"{lp.name}:{state.occurrence}", "expired", ended)
        log.info("playbook %s run %s: %s", lp.name, state.run_id, detail)
        context = json.loads(state.context or "{}")
        occ = Occurrence(state.trigger_type, state.occurrence, "", context.get("trigger", {}))
        return RunOutcome(lp.name, occ, "expired", state.run_id, "expired", detail=detail)

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
            "now": self.clock().isoformat(timespec="seconds") + "Z",
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

    def _refused(self, playbook: Playbook, key: str, occ: Occurrence, now: datetime) -> str | None:
        """Why the occurrence may not run (again) now, or None (call with the lock held)."""
        retry = playbook.spec.retry
        latest = self._claims.latest_run(key)
        lost = latest is not None and self.recorder.lost(latest)
        return self._claims.refusal(key, occ.key, retry.attempts, retry.backoff, now, lost=lost)

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
        if (why := self.refusal()) is not None:
            # Nothing can be audited: no claim, no step, and the caller hears why (the occurrence is not burnt).
            log.error("playbook %s not run for %s: %s", playbook.name, self.redactor.text(occ.key), why)
            return RunOutcome(playbook.name, occ, "error", detail=f"not run: {why}")
        with self.lock:
            started = self.clock()
            if (refused := self._refused(playbook, key, occ, started)) is not None:
                if not polled:
                    self._decide(lp, occ, "duplicate", {"key": key, "reason": refused}, polled)
                return RunOutcome(playbook.name, occ, "duplicate", detail=refused)
            if failed:
                self._decide(lp, occ, "conditions_false", {"conditions": conditions}, polled)
                return RunOutcome(
                    playbook.name, occ, "conditions_false", detail="not met: " + "; ".join(failed)
                )
            if mode == "manual" and guide is None:
                detail = f"manual playbook: run it with seclo playbook run {playbook.name} --manual"
                self._decide(lp, occ, "manual_only", {"conditions": conditions}, polled)
                return RunOutcome(playbook.name, occ, "manual_only", detail=detail)
            missing = [n for n in playbook.spec.secrets if not self.env.get(n)]
            if missing:
                # Not claimed: once the secret is set, the next sighting of the occurrence runs it.
                detail = f"the secret {missing[0]} is not set in the environment"
                self._decide(lp, occ, "error", {"error": detail}, polled)
                return RunOutcome(playbook.name, occ, "error", detail=detail)
            limit = playbook.spec.rate_limit
            if limit is not None:
                since = started - limit.per
                recent = self._starts[playbook.name] = [
                    t for t in self._starts.get(playbook.name, []) if t > since
                ]
                if len(recent) >= limit.max_runs:
                    detail = f"{len(recent)} runs within {limit.per}, the limit is {limit.max_runs}"
                    self._decide(lp, occ, "rate_limited", {"recent_runs": len(recent)}, polled)
                    return RunOutcome(playbook.name, occ, "rate_limited", detail=detail)
                recent.append(started)
            run_id = uuid.uuid4().hex[:16]
            context_text = json.dumps(self.redactor.value({"trigger": occ.fields, "steps": {}}), default=str)
            # The claim: in memory now, in the store with the recorder's next commit.
            attempt = self._claims.take(key, run_id)
            state = RunState(
                run_id,
                playbook.name,
                mode,
                occ.trigger_type,
                occ.key,
                attempt_key(key, attempt),
                started,
                None,
                "running",
                0,
                None,
                None,
                context_text,
            )
            self._runs[run_id] = state
            # The audit records before the run's row: a run on disk always has its run_start (verify-audit).
            decided = {"conditions": conditions, "mode": mode, "run_id": run_id, "attempt": attempt}
            self._decide(lp, occ, "run", decided, False)
            self.audit.append(
                "run_start",
                {"occurrence": occ.key, "summary": occ.summary, "mode": mode, "trigger": occ.fields},
                run_id=run_id,
                playbook=playbook.name,
            )
            self.recorder.run_state(state, new=True)
            self._memo.pop(key, None)
        log.info("playbook %s run %s started for %s", playbook.name, run_id, self.redactor.text(occ.summary))
        return self._guarded(lp, run_id, occ, {}, 0, mode, guide)

    def _plan(
        self, lp: LoadedPlaybook, occ: Occurrence, context: Mapping[str, Any], failed: list[str], key: str
    ) -> RunOutcome:
        """A dry run: what would happen, with nothing written or sent."""
        playbook = lp.playbook
        if failed:
            return RunOutcome(playbook.name, occ, "conditions_false", detail="not met: " + "; ".join(failed))
        if (refused := self._refused(playbook, key, occ, self.clock())) is not None:
            return RunOutcome(playbook.name, occ, "duplicate", detail=refused)
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
                prepared = prepare(step, _Render(context))
            # Whatever a step's rendering raises ends the run `failed`, not the engine.
            except Exception as exc:
                known = isinstance(exc, PlaybookTemplateError | ActionError | ConfigError)
                message = self.redactor.text(
                    f"step {step.name}: {'' if known else type(exc).__name__ + ': '}{exc}"
                )
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
