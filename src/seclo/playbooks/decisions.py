"""Decisions about trigger occurrences: conditions, claims, retries, the mode and the rate limit.

For each occurrence the engine evaluates the conditions, then, under its lock, checks the claim of the
idempotency key (playbook + occurrence), the mode, the declared secrets and the rate limit, and starts a run only
when all allow it. Each occurrence runs at most once at a time, and again only when its run failed and the
playbook's retry backoff has passed (seclo.playbooks.claims). In one process the in-memory claim decides; across
processes the UNIQUE key of playbook_runs refuses the second claim at commit.

A failed run with attempts left is put on the retry timer when the process has one (`seclo serve`, `seclo
playbook listen`: seclo.playbooks.retries): the engine runs the occurrence again itself, with the trigger
context of the failed run, recorded as the decision `retry`. A retry the trigger already made (the occurrence
was seen again first) is not made twice. Decisions not to run a polled occurrence are audited when they change.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from seclo.playbooks.actions import ActionError, prepare
from seclo.playbooks.claims import attempt_key
from seclo.playbooks.execution import Render, StepExecution, log, needs_approval
from seclo.playbooks.loader import LoadedPlaybook
from seclo.playbooks.model import Playbook
from seclo.playbooks.outcomes import Guide, RunOutcome, StepReport
from seclo.playbooks.recorder import RunState
from seclo.playbooks.retries import PendingRetry
from seclo.playbooks.templates import PlaybookTemplateError, evaluate_condition
from seclo.playbooks.triggers import Occurrence

__all__ = ["OccurrenceDecisions"]


class OccurrenceDecisions(StepExecution):
    """Decides about each occurrence and starts its run (PlaybookRunner builds on it)."""

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

    def _schedule_retry(self, lp: LoadedPlaybook, occ: Occurrence) -> None:
        """Put a failed occurrence with attempts left on the retry timer, when there is one."""
        timer = self.retries
        if timer is None or self.recorder.broken is not None:
            return
        key, retry = f"{lp.name}:{occ.key}", lp.playbook.spec.retry
        # Under the lock: a later attempt's failure, in another thread, cannot be scheduled before this one.
        with self.lock:
            upcoming = self._claims.next_attempt(key, retry.attempts, retry.backoff)
            if upcoming is not None:
                failed, due = upcoming
                timer.schedule(PendingRetry(key, failed, due), partial(self._retry, lp, occ, failed))

    def _retry(self, lp: LoadedPlaybook, occ: Occurrence, failed: int) -> RunOutcome:
        """The retry timer's attempt after `failed`, with the trigger context of the run that failed."""
        outcome = self._process(lp, occ, dry_run=False, polled=False, retry_of=failed)
        if outcome.decision != "ran":
            log.info(
                "playbook %s: retry of attempt %d not run: %s",
                lp.name,
                failed,
                self.redactor.text(outcome.detail),
            )
        return outcome

    def _refused(
        self, playbook: Playbook, key: str, occ: Occurrence, now: datetime, retry_of: int | None
    ) -> str | None:
        """Why the occurrence may not run (again) now, or None (call with the lock held)."""
        if retry_of is not None and not self._claims.failed_last(key, retry_of):
            # The trigger saw the occurrence again before the timer: that sighting started the attempt.
            return f"attempt {retry_of + 1} already started"
        retry = playbook.spec.retry
        latest = self._claims.latest_run(key)
        lost = latest is not None and self.recorder.lost(latest)
        return self._claims.refusal(key, occ.key, retry.attempts, retry.backoff, now, lost=lost)

    def _process(  # noqa: PLR0911 - one return per decision reads clearer than nesting them
        self,
        lp: LoadedPlaybook,
        occ: Occurrence,
        *,
        dry_run: bool,
        polled: bool,
        guide: Guide | None = None,
        retry_of: int | None = None,
    ) -> RunOutcome:
        """Decide about one occurrence and run it when it may run; `retry_of` is the failed attempt the retry
        timer retries (None when the trigger saw the occurrence)."""
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
            if (refused := self._refused(playbook, key, occ, started, retry_of)) is not None:
                if not polled and retry_of is None:
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
            if (limited := self._rate_limited(lp, occ, started, polled)) is not None:
                return limited
            run_id = self._start(lp, occ, mode, conditions, started, retry_of)
        log.info("playbook %s run %s started for %s", playbook.name, run_id, self.redactor.text(occ.summary))
        outcome = self._guarded(lp, run_id, occ, {}, 0, mode, guide)
        if outcome.status == "failed":
            self._schedule_retry(lp, occ)
        return outcome

    def _rate_limited(
        self, lp: LoadedPlaybook, occ: Occurrence, started: datetime, polled: bool
    ) -> RunOutcome | None:
        """The outcome when the playbook's rate limit holds the run back, or None after counting its start
        (call with the lock held)."""
        limit = lp.playbook.spec.rate_limit
        if limit is None:
            return None
        since = started - limit.per
        recent = self._starts[lp.name] = [t for t in self._starts.get(lp.name, []) if t > since]
        if len(recent) >= limit.max_runs:
            detail = f"{len(recent)} runs within {limit.per}, the limit is {limit.max_runs}"
            self._decide(lp, occ, "rate_limited", {"recent_runs": len(recent)}, polled)
            return RunOutcome(lp.name, occ, "rate_limited", detail=detail)
        recent.append(started)
        return None

    def _start(
        self,
        lp: LoadedPlaybook,
        occ: Occurrence,
        mode: str,
        conditions: Mapping[str, bool],
        started: datetime,
        retry_of: int | None,
    ) -> str:
        """Claim the occurrence's next attempt and record the run's start; returns the run id (call with the
        lock held)."""
        playbook = lp.playbook
        key = f"{playbook.name}:{occ.key}"
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
        # `retry`: the engine's retry timer started this attempt, not a sighting of the trigger.
        self._decide(lp, occ, "run" if retry_of is None else "retry", decided, False)
        self.audit.append(
            "run_start",
            {"occurrence": occ.key, "summary": occ.summary, "mode": mode, "trigger": occ.fields},
            run_id=run_id,
            playbook=playbook.name,
        )
        self.recorder.run_state(state, new=True)
        self._memo.pop(key, None)
        return run_id

    def _plan(
        self, lp: LoadedPlaybook, occ: Occurrence, context: Mapping[str, Any], failed: list[str], key: str
    ) -> RunOutcome:
        """A dry run: what would happen, with nothing written or sent."""
        playbook = lp.playbook
        if failed:
            return RunOutcome(playbook.name, occ, "conditions_false", detail="not met: " + "; ".join(failed))
        if (refused := self._refused(playbook, key, occ, self.clock(), None)) is not None:
            return RunOutcome(playbook.name, occ, "duplicate", detail=refused)
        reports = []
        for step in playbook.spec.steps:
            needs = needs_approval(playbook, step)
            try:
                action = self.redactor.value(prepare(step, Render(context)).describe())
            except (PlaybookTemplateError, ActionError) as exc:
                # Later steps may refer to outputs that only a real run produces.
                action, note = {}, f"rendered at run time ({self.redactor.text(str(exc))})"
            else:
                note = "would run" + (" after approval" if needs else "")
            reports.append(StepReport(step.name, step.type, "would_run", note, action, needs))
        detail = f"mode {playbook.spec.mode}: nothing was run or recorded (dry run)"
        return RunOutcome(playbook.name, occ, "dry_run", steps=tuple(reports), detail=detail)
