"""Trigger evaluation: what has happened that a playbook reacts to.

Each trigger yields occurrences. An occurrence's key names one happening (an alert fingerprint and start, an
experiment run, a finding, a schedule slot, an SLO alert's firing episode), so the engine can run each playbook
at most once per occurrence. SLO alerts and budget policy steps are levels, not events: an episode lasts while
the alert fires (or the step stays reached) and is remembered in the playbook_episodes table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from seclo.playbooks.alertmanager import AlertmanagerPayload
from seclo.playbooks.model import (
    AlertmanagerTrigger,
    BudgetPolicyTrigger,
    ExperimentTrigger,
    FindingPastSlaTrigger,
    KnownExploitedTrigger,
    ScheduleTrigger,
    SloAlertTrigger,
    Trigger,
)
from seclo.sli.slicing import FINDING_NOT_COUNTED, finding_closed_at
from seclo.store import Store
from seclo.store.sql import run

if TYPE_CHECKING:
    from seclo.slo.status import SloResult
    from seclo.workspace import Workspace

__all__ = ["Occurrence", "Signals", "alertmanager_occurrences", "manual_occurrence", "occurrences"]

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One happening a trigger saw.

    Attributes:
        trigger_type: the trigger's type.
        key: identifies the happening; with the playbook's name it is the run's idempotency key.
        summary: one line for people.
        fields: what templates and conditions see as `trigger`.
    """

    trigger_type: str
    key: str
    summary: str
    fields: dict[str, Any] = field(hash=False, compare=False)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


class Signals:
    """What triggers read, fetched once per evaluation: SLO results, episodes, the store, the time.

    Args:
        workspace: the workspace (sla_days, slos/).
        store: the store the triggers query.
        at: the evaluation time (naive UTC).
        write: record episodes in the store (False for dry runs, which change nothing).
        slo_results: how to evaluate the workspace's SLOs (default: seclo.slo.status.evaluate_workspace).
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        at: datetime,
        *,
        write: bool = True,
        slo_results: Callable[[], Sequence[SloResult]] | None = None,
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.at = at
        self.write = write
        self._slo_results = slo_results
        self._results: Sequence[SloResult] | None = None
        self._episodes: dict[str, datetime] | None = None

    @property
    def results(self) -> Sequence[SloResult]:
        """Every SLO of the workspace evaluated at `at` (computed on first use)."""
        if self._results is None:
            if self._slo_results is not None:
                self._results = self._slo_results()
            else:
                from seclo.slo.status import evaluate_workspace  # noqa: PLC0415 - only when an SLO trigger exists

                self._results = evaluate_workspace(self.workspace, self.store, at=self.at)
        return self._results

    def _current_levels(self) -> set[str]:
        levels: set[str] = set()
        for result in self.results:
            if result.status is not None:
                levels |= {f"slo_alert:{result.name}:{a.window.name}" for a in result.status.firing}
            if result.policy is not None:
                levels |= {
                    f"budget_policy:{result.name}:{s.step.name}" for s in result.policy.steps if s.reached
                }
        return levels

    def episode_start(self, signal: str) -> datetime:
        """When the episode of a level signal that holds now began (opening and closing episodes once)."""
        if self._episodes is None:
            current = self._current_levels()
            known = dict(
                self.store.conn.execute("SELECT signal, started_at FROM playbook_episodes").fetchall()
            )
            self._episodes = {s: known.get(s, self.at) for s in current}
            if self.write:
                ended = [s for s in known if s not in current]
                for signal_name in ended:
                    run(self.store.conn, "DELETE FROM playbook_episodes WHERE signal = ?", [signal_name])
                for signal_name, started in self._episodes.items():
                    if signal_name in known:
                        run(
                            self.store.conn,
                            "UPDATE playbook_episodes SET last_seen = ? WHERE signal = ?",
                            [self.at, signal_name],
                        )
                    else:
                        run(
                            self.store.conn,
                            "INSERT INTO playbook_episodes VALUES (?, ?, ?)",
                            [signal_name, started, self.at],
                        )
        return self._episodes.get(signal, self.at)


def _slo_alerts(trigger: SloAlertTrigger, signals: Signals) -> list[Occurrence]:
    found = []
    for result in signals.results:
        if result.status is None or not fnmatchcase(result.name, trigger.slo):
            continue
        for alert in result.status.firing:
            if trigger.tier not in ("any", alert.window.severity):
                continue
            signal = f"slo_alert:{result.name}:{alert.window.name}"
            started = signals.episode_start(signal)
            fields = {
                "slo": result.name,
                "service": result.service,
                "tier": alert.window.severity,
                "alert": alert.window.name,
                "factor": alert.window.factor,
                "long_burn_rate": alert.long_rate,
                "short_burn_rate": alert.short_rate,
                "budget_remaining": result.status.budget.remaining_fraction,
                "attainment": result.status.attainment,
                "target": result.target,
                "state": result.status.state,
                "firing_since": _iso(started),
                "at": _iso(signals.at),
            }
            summary = f"{alert.window.severity} alert {alert.window.name} fires for SLO {result.name}"
            found.append(Occurrence("slo_alert", f"{signal}@{_iso(started)}", summary, fields))
    return found


def _budget_policy(trigger: BudgetPolicyTrigger, signals: Signals) -> list[Occurrence]:
    found = []
    for result in signals.results:
        if result.policy is None or result.status is None or not fnmatchcase(result.name, trigger.slo):
            continue
        for state in result.policy.steps:
            if state.step.name != trigger.step or not state.reached:
                continue
            signal = f"budget_policy:{result.name}:{state.step.name}"
            started = signals.episode_start(signal)
            fields = {
                "slo": result.name,
                "service": result.service,
                "policy": result.policy.policy.name,
                "step": state.step.name,
                "action": state.step.action,
                "condition": state.step.condition,
                "budget_remaining": result.status.budget.remaining_fraction,
                "state": result.status.state,
                "reached_since": _iso(started),
                "at": _iso(signals.at),
            }
            summary = f"error budget policy step {state.step.name} reached for SLO {result.name}"
            found.append(Occurrence("budget_policy", f"{signal}@{_iso(started)}", summary, fields))
    return found


def _experiments(trigger: ExperimentTrigger, signals: Signals) -> list[Occurrence]:
    rows = signals.store.conn.execute(
        """SELECT run_id, experiment, fault, injected_at, detected_at, remediated_at, rolled_back_at, outcome,
               coalesce(name, experiment)
        FROM experiment_runs
        WHERE outcome IN (SELECT unnest(?::VARCHAR[]))
          AND coalesce(rolled_back_at, remediated_at, detected_at, injected_at) BETWEEN ? AND ?
        ORDER BY injected_at, run_id""",
        [list(trigger.verdicts()), signals.at - trigger.within, signals.at],
    ).fetchall()
    found = []
    for run_id, experiment, fault, injected, detected, remediated, rolled_back, outcome, name in rows:
        if not (fnmatchcase(experiment, trigger.experiment) or fnmatchcase(name, trigger.experiment)):
            continue
        fields = {
            "run_id": run_id,
            "experiment": experiment,
            "name": name,
            "fault": fault,
            "outcome": outcome,
            "injected_at": _iso(injected),
            "detected_at": _iso(detected),
            "remediated_at": _iso(remediated),
            "rolled_back_at": _iso(rolled_back),
            "time_to_detect_seconds": (detected - injected).total_seconds()
            if detected and injected
            else None,
        }
        summary = f"experiment {experiment} run {run_id} ended {outcome}"
        found.append(Occurrence("experiment_verdict", f"experiment:{run_id}", summary, fields))
    return found


_FINDING_COLUMNS = (
    "finding_id, asset_id, vuln_id, package, version, severity, opened_at, known_exploited, fix_available"
)


def _finding_fields(row: tuple[Any, ...]) -> dict[str, Any]:
    names = [c.strip() for c in _FINDING_COLUMNS.split(",")]
    fields = dict(zip(names, row, strict=False))
    fields["opened_at"] = _iso(fields["opened_at"])
    return fields


def _past_sla(trigger: FindingPastSlaTrigger, signals: Signals) -> list[Occurrence]:
    sla = signals.workspace.settings.sla_days
    days = [(s, getattr(sla, s)) for s in trigger.severities]
    rows = signals.store.conn.execute(
        f"""WITH sla(severity, days) AS (SELECT unnest(?::VARCHAR[]), unnest(?::INTEGER[]))
        SELECT {_FINDING_COLUMNS}, sla.days, f.opened_at + to_days(sla.days) AS due_at
        FROM findings AS f JOIN sla USING (severity)
        WHERE f.status NOT IN {FINDING_NOT_COUNTED}
          AND f.opened_at <= ? AND coalesce({finding_closed_at("f")} > ?, true)
          AND f.opened_at + to_days(sla.days) < ?
          AND (? OR coalesce(f.known_exploited, false))
        ORDER BY due_at, finding_id""",
        [
            [s for s, _ in days],
            [d for _, d in days],
            signals.at,
            signals.at,
            signals.at,
            not trigger.known_exploited_only,
        ],
    ).fetchall()
    found = []
    for row in rows:
        fields = _finding_fields(row[:-2])
        due: datetime = row[-1]
        fields |= {"sla_days": row[-2], "due_at": _iso(due), "days_overdue": (signals.at - due).days}
        summary = (
            f"{fields['severity']} finding {fields['finding_id']} on {fields['asset_id']} is past its SLA"
        )
        found.append(
            Occurrence("finding_past_sla", f"finding_past_sla:{fields['finding_id']}", summary, fields)
        )
    return found


def _known_exploited(trigger: KnownExploitedTrigger, signals: Signals) -> list[Occurrence]:
    rows = signals.store.conn.execute(
        f"""SELECT {_FINDING_COLUMNS} FROM findings
        WHERE coalesce(known_exploited, false) AND status NOT IN {FINDING_NOT_COUNTED}
          AND opened_at BETWEEN ? AND ? AND coalesce({finding_closed_at("findings")} > ?, true)
        ORDER BY opened_at, finding_id""",
        [signals.at - trigger.within, signals.at, signals.at],
    ).fetchall()
    found = []
    for row in rows:
        fields = _finding_fields(row)
        summary = f"known-exploited {fields['vuln_id']} found on {fields['asset_id']}"
        found.append(
            Occurrence("known_exploited", f"known_exploited:{fields['finding_id']}", summary, fields)
        )
    return found


def _schedule(trigger: ScheduleTrigger, signals: Signals) -> list[Occurrence]:
    slot = _EPOCH + ((signals.at - _EPOCH) // trigger.every) * trigger.every
    fields = {"slot": _iso(slot), "every_seconds": trigger.every.total_seconds(), "at": _iso(signals.at)}
    return [Occurrence("schedule", f"schedule:{_iso(slot)}", f"schedule slot {_iso(slot)}", fields)]


def alertmanager_occurrences(trigger: AlertmanagerTrigger, payload: AlertmanagerPayload) -> list[Occurrence]:
    """The alerts of a webhook payload that match the trigger's labels and status."""
    found = []
    for alert in payload.alerts:
        if trigger.status not in ("any", alert.status):
            continue
        if not all(fnmatchcase(alert.labels.get(k, ""), glob) for k, glob in trigger.labels.items()):
            continue
        fields = {
            "status": alert.status,
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
            "starts_at": alert.starts_at,
            "ends_at": alert.ends_at,
            "generator_url": alert.generator_url,
            "fingerprint": alert.identity,
            "alertname": alert.labels.get("alertname", ""),
            "receiver": payload.receiver,
            "group_key": payload.group_key,
            "common_labels": dict(payload.common_labels),
            "external_url": payload.external_url,
        }
        key = f"alertmanager:{alert.identity}:{alert.starts_at}:{alert.status}"
        summary = f"Alertmanager alert {fields['alertname'] or alert.identity} {alert.status}"
        found.append(Occurrence("alertmanager", key, summary, fields))
    return found


def manual_occurrence(at: datetime, note: str = "") -> Occurrence:
    """An on-demand run: each one is its own occurrence."""
    stamp = at.isoformat(timespec="microseconds") + "Z"
    return Occurrence("manual", f"manual:{stamp}", "run on demand", {"at": stamp, "note": note})


_POLLED: dict[type[Any], Callable[[Any, Signals], list[Occurrence]]] = {
    SloAlertTrigger: _slo_alerts,
    BudgetPolicyTrigger: _budget_policy,
    ExperimentTrigger: _experiments,
    FindingPastSlaTrigger: _past_sla,
    KnownExploitedTrigger: _known_exploited,
    ScheduleTrigger: _schedule,
}


def occurrences(trigger: Trigger, signals: Signals) -> list[Occurrence]:
    """The occurrences of a polled trigger now (Alertmanager and manual triggers are pushed: none here)."""
    evaluate = _POLLED.get(type(trigger))
    return [] if evaluate is None else evaluate(trigger, signals)
