"""Approvals: a run waiting at a step for a person is approved (and runs on) or expires.

In `approval` mode a destructive or `approval` step makes the run `waiting_approval` (its state is in the store,
not in memory). `approve` records who approved and runs the rest; a request older than the playbook's
`approval_timeout` expires instead: `approval_expired`, then `run_end`, and the run ends `expired`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from seclo.errors import InputError, StoreError
from seclo.playbooks.decisions import OccurrenceDecisions
from seclo.playbooks.execution import log
from seclo.playbooks.loader import LoadedPlaybook
from seclo.playbooks.outcomes import RunOutcome
from seclo.playbooks.recorder import RunState
from seclo.playbooks.triggers import Occurrence

__all__ = ["Approvals"]

# Runs waiting for an approval, each with the time of its latest request (the last column).
_WAITING = (
    "SELECT r.*, a.requested_at FROM playbook_runs r JOIN (SELECT run_id, max(recorded_at) AS requested_at "
    "FROM playbook_audit WHERE event = 'approval_requested' GROUP BY run_id) a USING (run_id) "
    "WHERE r.status = 'waiting_approval'"
)


class Approvals(OccurrenceDecisions):
    """Approves and expires runs waiting for a person (PlaybookRunner builds on it)."""

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
        if outcome.status == "failed":
            self._schedule_retry(lp, occ)
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
