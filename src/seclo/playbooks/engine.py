"""The engine: from a trigger occurrence to a recorded run.

`PlaybookRunner` is what callers use: it loads the claimed occurrences, evaluates the polled triggers, takes
Alertmanager webhooks and on-demand runs, and hands each occurrence on. The work is split by domain: deciding
whether an occurrence runs (conditions, claims, retries, rate limit: seclo.playbooks.decisions), running a
started run's steps and ending it (seclo.playbooks.execution), approvals (seclo.playbooks.approvals), and the
timer that retries failed occurrences in long-running processes (seclo.playbooks.retries). A dry run evaluates
and renders, and writes and sends nothing.

The time from a trigger to its first step is spent in memory, not in store commits. The claimed keys and recent
run starts are loaded once and kept in memory; the run's state lives in memory while it runs; the claim, the
state changes and the audit records are queued to the recorder, which commits many runs' worth at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seclo.errors import InputError
from seclo.playbooks.access import HeldStore, StoreAccess
from seclo.playbooks.alertmanager import parse_payload
from seclo.playbooks.approvals import Approvals
from seclo.playbooks.audit import AuditLog
from seclo.playbooks.claims import Claims
from seclo.playbooks.loader import LoadedPlaybook
from seclo.playbooks.model import PUSHED_TRIGGERS, AlertmanagerTrigger, ManualTrigger
from seclo.playbooks.outcomes import Guide, Observer, RunOutcome
from seclo.playbooks.recorder import Recorder, RunState
from seclo.playbooks.redaction import Redactor, load_secrets
from seclo.playbooks.retries import RetryTimer
from seclo.playbooks.triggers import (
    Signals,
    alertmanager_occurrences,
    manual_occurrence,
    occurrences,
)
from seclo.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    from seclo.slo.status import SloResult
    from seclo.workspace import Workspace

__all__ = ["PlaybookRunner", "utc_now"]


def utc_now() -> datetime:
    """Now, as naive UTC (how the store keeps time)."""
    return datetime.now(UTC).replace(tzinfo=None)


class PlaybookRunner(Approvals):
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
        self.retries: RetryTimer | None = None  # long-running processes start it (start_retries)
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

    def start_retries(self, *, workers: int = 4, poll: float = 1.0) -> RetryTimer:
        """Retry failed occurrences on a timer from now on (`seclo serve`, `seclo playbook listen`): a failed
        run whose occurrence has attempts left runs again when its backoff expires, without waiting for the
        trigger to be seen again (seclo.playbooks.retries). `close()` drops the retries still pending.

        Args:
            workers: retries that may run at once.
            poll: the longest wait, in seconds, between two looks at the clock.
        """
        with self.lock:
            if self.retries is None:
                self.retries = RetryTimer(self.clock, workers=workers, poll=poll)
            return self.retries

    def close(self) -> None:
        """Drop pending retries, wait for the runs they started, commit what is queued and stop the recorder
        (before the store is closed).

        Raises:
            StoreError: records could not be committed (the recorder stopped, or the store stayed unwritable).
        """
        if self.retries is not None:
            self.retries.close()
        self.recorder.close()

    def __enter__(self) -> PlaybookRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Entry points --------------------------------------------------------------------------------------------

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
