"""The background refresh of `seclo serve`: read the store on an interval, render /metrics once, keep the bytes.

A background thread drives the refreshes, so scrapes never touch the store and never wait for it: a request
takes the current `Exposition` (one attribute read, atomic under the GIL) and writes its bytes. The work of a
refresh (DuckDB queries, the SLO maths for every objective, rendering the text) runs in one long-lived
worker process: done in a thread of the serving process it would hold the GIL for seconds with many SLOs,
and every scrape arriving meanwhile would wait for the GIL in 5 ms turns. The thread only waits for the
worker's answer, without the GIL.

Each refresh opens the store read-only and closes it again, so `seclo import` can take the write lock
between refreshes. When the store cannot be opened (locked, missing) or slos/ is invalid, the previous
figures keep being served and `seclo_exporter_refresh_errors_total` counts the failure; a worker process
that dies is replaced at the next refresh.

The thread never dies: every refresh, inbox merge and playbook evaluation is one unit of work whose failure,
of any kind, is counted, logged (a traceback only the first time a kind of failure is seen in a row) and
followed by the next unit. Records the merge cannot store are in `rejected` and counted by
`seclo_inbox_rejected_total`; failed merges by `seclo_inbox_merge_errors_total`.

The thread also merges the Alertmanager inbox into the store (opening it for writing briefly) when payloads
are pending: at each refresh, as soon as a payload arrives, and every few seconds while the store is busy.
It holds `gate` while it reads or merges, and calls `on_refresh` after each refresh (seclo serve evaluates the
playbooks' polled triggers there).
"""

from __future__ import annotations

import gzip
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seclo.errors import SecloError
from seclo.prometheus.exporter import (
    ExporterHealth,
    MonotonicCounters,
    render_figures,
    render_health,
    unix_seconds,
)
from seclo.prometheus.figures import read_figures
from seclo.server.inbox import AlertInbox
from seclo.store import open_store
from seclo.workspace import Workspace

__all__ = ["Exposition", "Refresher", "read_and_render"]

log = logging.getLogger(__name__)

# While payloads wait for a busy store, retry this often (a refresh interval can be minutes).
MERGE_RETRY = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Exposition:
    """The rendered /metrics body, plain and gzip-compressed (compressed once, not per scrape)."""

    plain: bytes
    gzipped: bytes

    @classmethod
    def of(cls, body: bytes) -> Exposition:
        """`body` with its gzip form (level 6: a fifth of the size for a fraction of a refresh's time)."""
        return cls(body, gzip.compress(body, compresslevel=6, mtime=0))


def read_and_render(
    workspace: Workspace, at: datetime, highs: dict[tuple[str, ...], float]
) -> tuple[bytes, dict[tuple[str, ...], float]]:
    """In the worker process: the figures at `at` rendered, and the counters' new highs.

    Raises:
        SecloError: the store cannot be opened, or slos/ is invalid.
    """
    settings = workspace.settings.store
    counters = MonotonicCounters(highs)
    with open_store(
        workspace.store_path, sandboxed=True, memory_limit=settings.memory_limit, threads=settings.threads
    ) as store:
        figures = read_figures(workspace, store, at)
    return render_figures(figures, counters), counters.highs


class Refresher:
    """Keeps the /metrics exposition of a workspace fresh from a background thread and a worker process."""

    def __init__(
        self,
        workspace: Workspace,
        interval: timedelta,
        inbox: AlertInbox | None = None,
        *,
        gate: threading.RLock | None = None,
    ) -> None:
        self.workspace = workspace
        self.interval = interval
        self.inbox = inbox
        self.gate = gate or threading.RLock()
        self.on_refresh: Callable[[], None] | None = None
        self._highs: dict[tuple[str, ...], float] = {}
        self._figures = b""
        self._errors = 0
        self._merge_errors = 0
        self._rejected = 0
        self._waiting = False
        self._last_failure: dict[str, str] = {}
        self._last_success: float | None = None
        self._duration = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None
        self.exposition = Exposition.of(self._render())

    @property
    def refresh_errors(self) -> int:
        """Refreshes that failed so far."""
        return self._errors

    @property
    def merge_errors(self) -> int:
        """Inbox merges that failed so far."""
        return self._merge_errors

    def _render(self) -> bytes:
        inbox = self.inbox is not None
        health = ExporterHealth(
            self._last_success,
            self._duration,
            self._errors,
            self._rejected if inbox else None,
            self._merge_errors if inbox else None,
        )
        return self._figures + render_health(health)

    def _unexpected(self, what: str, exc: Exception) -> None:
        """Log an unexpected failure: with its traceback the first time, in one line while it repeats."""
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        if self._last_failure.get(what) == kind:
            log.error("%s failed again: %s: %s", what, type(exc).__name__, exc)
        else:
            self._last_failure[what] = kind
            log.error("%s failed unexpectedly; going on", what, exc_info=exc)

    def _succeeded(self, what: str) -> None:
        self._last_failure.pop(what, None)

    def _worker(self) -> ProcessPoolExecutor:
        if self._stop.is_set():
            raise BrokenProcessPool("seclo serve is stopping")
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def refresh(self) -> bool:
        """Read the store once and replace the exposition; False (and one more error counted) on failure."""
        began = time.perf_counter()
        now = datetime.now(UTC).replace(tzinfo=None)
        at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # whole ms: exact as a float timestamp
        ok = True
        try:
            with self.gate:
                future = self._worker().submit(read_and_render, self.workspace, at, self._highs)
                self._figures, self._highs = future.result()
            self._last_success = unix_seconds(at)
        except SecloError as exc:
            ok = False
            self._errors += 1
            log.warning("refresh failed, serving the previous figures: %s", exc)
        except BrokenProcessPool:
            ok = False
            if self._stop.is_set():
                return ok
            self._errors += 1
            broken, self._pool = self._pool, None
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            log.error("the refresh worker process died; starting a new one")  # noqa: TRY400 - no traceback
        except Exception as exc:
            # Anything else (a DuckDB failure seclo does not translate) must not end the refreshes for good.
            ok = False
            self._errors += 1
            self._unexpected("a refresh (serving the previous figures)", exc)
        else:
            self._succeeded("a refresh (serving the previous figures)")
        self._duration = time.perf_counter() - began
        self.exposition = Exposition.of(self._render())
        return ok

    def merge_inbox(self) -> bool:
        """Merge pending Alertmanager payloads into the store; False when the store could not be written.

        The inbox's counters in /metrics are brought up to date at once, not at the next refresh.
        """
        if self.inbox is None or not self.inbox.pending():
            return True
        settings = self.workspace.settings.store
        try:
            with (
                self.gate,
                open_store(
                    self.workspace.store_path, memory_limit=settings.memory_limit, threads=settings.threads
                ) as store,
            ):
                result = self.inbox.merge(store)
        except SecloError as exc:
            self._merge_failed()
            # Retried every few seconds while the store is busy: said once, not every retry.
            log.log(
                logging.DEBUG if self._waiting else logging.WARNING,
                "Alertmanager payloads wait for the store: %s",
                exc,
            )
            self._waiting = True
            return False
        except OSError as exc:
            self._merge_failed()
            log.error("cannot read the Alertmanager inbox: %s", exc)  # noqa: TRY400 - no traceback
            return False
        if self._waiting:
            self._waiting = False
            log.info("the store is free again; the waiting Alertmanager payloads are merged")
        if result.rejected:
            self._rejected += result.rejected
            self.exposition = Exposition.of(self._render())
        log.info(
            "merged %d inbox lines: %d new alerts, %d resolved, %d rejected",
            result.lines,
            result.new,
            result.resolved,
            result.rejected,
        )
        return True

    def _merge_failed(self) -> None:
        self._merge_errors += 1
        self.exposition = Exposition.of(self._render())

    def wake(self) -> None:
        """Ask the thread to merge the inbox now (a payload has arrived)."""
        self._wake.set()

    def start(self) -> None:
        """Start the background thread (the first refresh runs at once)."""
        self._thread = threading.Thread(target=self._run, name="seclo-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and the worker process, without waiting for a refresh in progress."""
        self._stop.set()
        self._wake.set()
        pool, self._pool = self._pool, None
        if pool is not None:
            # A refresh of thousands of SLOs takes a minute: end the worker rather than wait for it. The
            # executor has no public way to do so; its process table has been `_processes` since 3.2.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
        if self._thread is not None:
            self._thread.join()

    def _guarded(self, what: str, step: Callable[[], bool | None]) -> bool:
        """Run one unit of work; any failure is counted, logged and reported as False, never raised."""
        try:
            done = step()
        except Exception as exc:  # the thread must go on whatever one unit of work raises
            if what == "an inbox merge":
                self._merge_failed()
            else:
                self._errors += 1
                self.exposition = Exposition.of(self._render())
            self._unexpected(what, exc)
            return False
        self._succeeded(what)
        return done is not False

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            merged = self._guarded("an inbox merge", self.merge_inbox)
            if time.monotonic() >= due:
                self._guarded("a refresh", self.refresh)
                if self.on_refresh is not None:
                    self._guarded("the playbooks after a refresh", self.on_refresh)
                due = max(due + self.interval.total_seconds(), time.monotonic())
            wait = due - time.monotonic()
            if not merged:
                wait = min(wait, MERGE_RETRY.total_seconds())
            self._wake.wait(max(wait, 0.0))
            self._wake.clear()
