"""Playbooks inside `seclo serve`: Alertmanager webhooks on arrival, polled triggers after each refresh.

Each accepted webhook (already in the fsync'ed inbox journal) is handed to `PlaybookRunner.handle_alertmanager`
on a worker thread, so the HTTP answer never waits for a step. After each refresh of the figures the polled
triggers (SLO alerts and budget policy steps, experiment verdicts, findings past SLA, known-exploited findings,
schedules) are evaluated once on another thread; an evaluation still running when the next refresh ends is not
doubled. A schedule therefore fires at the first refresh of each slot. A failed run whose occurrence has attempts
left runs again when its retry backoff expires, on the engine's retry timer (seclo.playbooks.retries).

The engine opens the store only for each use (`WorkspaceStore`), under the lock the refresher holds while it
reads or merges the inbox, so /metrics refreshes, inbox merges and playbook records never lock each other out,
and `seclo import` can take the store between them.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from seclo.errors import SecloError
from seclo.playbooks import LoadedPlaybook, PlaybookRunner
from seclo.playbooks.access import WorkspaceStore

if TYPE_CHECKING:
    from seclo.workspace import Workspace

__all__ = ["PlaybookService"]

log = logging.getLogger(__name__)


class PlaybookService:
    """Runs a workspace's playbooks for `seclo serve`.

    Args:
        workspace: whose playbooks/ and store.
        gate: the lock the refresher holds while it has the store open.
        playbooks: the workspace's loaded playbooks.
        workers: runs that may be in their steps at once.

    Raises:
        StoreError: the store cannot be opened to load the claimed occurrences.
    """

    def __init__(
        self,
        workspace: Workspace,
        gate: threading.RLock,
        playbooks: Sequence[LoadedPlaybook],
        *,
        workers: int = 8,
    ) -> None:
        self.runner = PlaybookRunner(workspace, WorkspaceStore(workspace, gate), playbooks)
        # A failed occurrence runs again when its backoff expires, not only when it is seen again.
        self.runner.start_retries()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seclo-playbook")
        self._evaluating = threading.Lock()
        self._evaluator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seclo-playbook-evaluate")
        self._closing = threading.Lock()
        self._closed = False

    @property
    def count(self) -> int:
        """How many playbooks are loaded."""
        return len(self.runner.playbooks)

    def alert(self, document: object) -> str | None:
        """Run the playbooks an accepted Alertmanager payload triggers, on a worker thread.

        Returns why nothing was run, or None: once `close()` has begun (a webhook arriving during shutdown), or
        once the recorder has stopped (no run could be audited), the caller answers 503 so Alertmanager retries.
        """
        if (why := self.runner.refusal()) is not None:
            return why
        with self._closing:
            if self._closed:
                return "the server is shutting down; retry"
            self.pool.submit(
                self._guarded, "an Alertmanager webhook", self.runner.handle_alertmanager, document
            )
        return None

    def evaluate(self) -> None:
        """Evaluate the polled triggers once, on the evaluation thread, unless an evaluation is running."""
        with self._closing:
            if not self._closed and self._evaluating.acquire(blocking=False):
                self._evaluator.submit(self._evaluate)

    def _evaluate(self) -> None:
        try:
            self._guarded("the polled triggers", self.runner.evaluate)
        finally:
            self._evaluating.release()

    def _guarded(self, what: str, call: Callable[..., Any], *args: object) -> None:
        # Both texts are redacted: an exception's message (and its traceback's) may quote a step's secret.
        redact = self.runner.redactor.text
        try:
            call(*args)
        except SecloError as exc:
            log.warning("playbooks for %s: %s", what, redact(str(exc)))
        except Exception as exc:  # a worker thread must not die silently: log it and go on with the next one
            trace = redact("".join(traceback.format_exception(exc)))
            log.error("playbooks for %s failed unexpectedly:\n%s", what, trace)  # noqa: TRY400 - redacted above

    def close(self) -> None:
        """Wait for runs in progress and commit their records; pending retries are dropped (each runs when its
        occurrence is seen again)."""
        with self._closing:
            self._closed = True
        self.pool.shutdown(wait=True)
        self._evaluator.shutdown(wait=True)
        self.runner.close()
