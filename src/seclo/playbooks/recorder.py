"""The background writer of playbook runs: audit records, run states and `store` records, many runs per commit.

A DuckDB commit costs milliseconds (a write-ahead-log sync); a run used to make several, serialised on one
connection, so under a burst of webhooks runs queued behind each other's commits. Now the engine only queues
what it decides and does, and one thread commits the queue every `max_records` items or `max_delay`, whichever
comes first, in a single transaction.

Guarantees:
- Order: items are committed in the order they were queued, and a batch is all or nothing, so the stored audit
  trail is always a gap-free prefix of what the engine appended.
- The hash chain is computed here, at commit time, from the stored tail read in the same transaction. Another
  process that appended records meanwhile (`seclo playbook run` between two batches of `seclo serve`) is
  therefore chained after, not forked from.
- Idempotency: a new run whose key another process stored meanwhile is not inserted; it is reported as a lost
  claim (`lost`), and the engine stops that run before any destructive step (it waits for `wait` first).
- Durability: `wait(ticket)` returns once everything queued up to that ticket is committed; `flush()` waits
  for everything queued so far. A batch that cannot be committed because the store is busy or cannot be opened
  (locked by another process, a write conflict, an I/O error) is kept and retried; meanwhile `failing` says why,
  and the engine runs no step until its records are on disk.
- Failure: any other error (a bug, a table that is gone) stops the recorder for good: `broken` says why, the
  `stopped` event is set, queueing raises StoreError and waiting returns at once with it. The engine then runs
  no further step, since none could be audited. Text UTF-8 cannot encode (lone surrogates from a JSON payload)
  is escaped when it is queued (seclo.playbooks.chain.storable), so data alone never stops the recorder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass, fields, replace
from datetime import datetime
from typing import Any

import duckdb

from seclo.errors import StoreError
from seclo.playbooks.chain import GENESIS, record_hash, storable
from seclo.store import Store

__all__ = ["AuditItem", "Recorder", "RunState"]

log = logging.getLogger("seclo.playbooks")

# Rows per INSERT statement (DuckDB binds every parameter of a statement at once).
_CHUNK = 200
_RETRY = 0.5
# Errors that pass: the store is held by another process, a concurrent write conflicted, the disk hiccupped. A
# batch failing with one of them is retried; any other error stops the recorder (retrying cannot help).
_TRANSIENT = (StoreError, duckdb.IOException, duckdb.TransactionException, duckdb.ConstraintException)


@dataclass(frozen=True, slots=True)
class AuditItem:
    """An audit record waiting for its place in the chain (seq and hashes are given at commit)."""

    recorded_at: datetime
    run_id: str | None
    playbook: str | None
    event: str
    step: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class RunState:
    """A playbook_runs row, in column order."""

    run_id: str
    playbook: str
    mode: str
    trigger_type: str
    occurrence: str
    idempotency_key: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    next_step: int
    failed_step: str | None
    error: str | None
    context: str


@dataclass(frozen=True, slots=True)
class _RunWrite:
    state: RunState
    new: bool


@dataclass(frozen=True, slots=True)
class _RecordRow:
    row: tuple[Any, ...]


_Item = AuditItem | _RunWrite | _RecordRow


def _storable(item: _Item) -> _Item:
    """The item with every text made encodable (lone surrogates escaped), so no batch fails on its data. Items
    whose texts are all valid (nearly all) are returned as they are, without a copy."""
    if isinstance(item, _RecordRow):
        row = tuple(storable(v) for v in item.row)
        return item if all(a is b for a, b in zip(row, item.row, strict=True)) else _RecordRow(row)
    target: RunState | AuditItem = item.state if isinstance(item, _RunWrite) else item
    changes = {
        f.name: clean
        for f in fields(target)
        if (clean := storable(value := getattr(target, f.name))) is not value
    }
    if not changes:
        return item
    if isinstance(item, _RunWrite):
        return _RunWrite(replace(item.state, **changes), item.new)
    return replace(item, **changes)


_RUN_TYPES = (
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "TIMESTAMP",
    "TIMESTAMP",
    "VARCHAR",
    "INTEGER",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
)
_RUN_COLUMNS = (
    'run_id, playbook, "mode", trigger_type, occurrence, idempotency_key, started_at, finished_at, status, '
    "next_step, failed_step, error, context"
)
_RUN_SETS = ", ".join(
    f"{c} = u.{c}" for c in ("finished_at", "status", "next_step", "failed_step", "error", "context")
)
_AUDIT_TYPES = ("BIGINT", "TIMESTAMP") + ("VARCHAR",) * 7
_RECORD_TYPES = ("TIMESTAMP",) + ("VARCHAR",) * 6


def _values(types: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """A multi-row VALUES list with typed parameters, and the parameters."""
    row_sql = "(" + ", ".join(f"?::{t}" for t in types) + ")"
    return "VALUES " + ", ".join([row_sql] * len(rows)), [value for row in rows for value in row]


def _insert(
    conn: duckdb.DuckDBPyConnection, table: str, types: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows with multi-row VALUES statements (one statement per chunk, not one per row)."""
    for start in range(0, len(rows), _CHUNK):
        values, params = _values(types, rows[start : start + _CHUNK])
        conn.execute(f"INSERT INTO {table} {values}", params).fetchall()


class Recorder:
    """Commits queued audit records, run states and records from a background thread.

    Args:
        connect: opens the store for one batch (the runner's own store, or the workspace's store per batch).
        max_records: commit once this many items are queued.
        max_delay: commit at most this long (seconds) after the first item of a batch was queued.
    """

    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[Store]],
        *,
        max_records: int = 500,
        max_delay: float = 0.05,
    ) -> None:
        self.connect = connect
        self.max_records = max_records
        self.max_delay = max_delay
        self._cond = threading.Condition()
        self._pending: list[_Item] = []
        self._queued = 0  # tickets handed out
        self._committed = 0  # tickets committed
        self._first_at = 0.0
        self._urgent = False
        self._closing = False
        self._failure: str | None = None
        self._broken: str | None = None
        self.stopped = threading.Event()  # set when the recorder has stopped for good (see `broken`)
        self._lost: set[str] = set()
        self._thread: threading.Thread | None = None
        self.commits = 0

    # Queueing ------------------------------------------------------------------------------------------------

    @property
    def broken(self) -> str | None:
        """Why the recorder stopped for good (nothing more can be recorded), or None while it works."""
        with self._cond:
            return self._broken

    @property
    def failing(self) -> str | None:
        """Why the last commit failed while it is being retried (or the recorder stopped), else None."""
        with self._cond:
            return self._broken or self._failure

    def _refusal(self) -> StoreError:
        return StoreError(f"the playbook recorder stopped, nothing more can be recorded: {self._broken}")

    def _put(self, item: _Item) -> int:
        item = _storable(item)
        with self._cond:
            if self._broken is not None:
                raise self._refusal()
            if self._closing:
                raise StoreError("the playbook recorder is closed")
            if not self._pending:
                self._first_at = time.monotonic()
            self._pending.append(item)
            self._queued += 1
            ticket = self._queued
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="seclo-playbook-recorder", daemon=True)
                self._thread.start()
            if len(self._pending) >= self.max_records:
                self._cond.notify_all()
            return ticket

    def audit(self, item: AuditItem) -> int:
        """Queue an audit record; returns its ticket."""
        return self._put(item)

    def run_state(self, state: RunState, *, new: bool = False) -> int:
        """Queue a run's state (`new`: insert it, claiming its idempotency key); returns its ticket."""
        return self._put(_RunWrite(state, new))

    def record(self, row: tuple[Any, ...]) -> int:
        """Queue a playbook_records row; returns its ticket."""
        return self._put(_RecordRow(row))

    # Waiting -------------------------------------------------------------------------------------------------

    def wait(self, ticket: int, timeout: float = 60.0) -> None:
        """Return once everything queued up to `ticket` is committed.

        Raises:
            StoreError: not committed within `timeout` seconds (the store stays locked, or cannot be written),
                or the recorder stopped.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._urgent = True
            self._cond.notify_all()
            while self._committed < ticket:
                if self._broken is not None:
                    raise self._refusal()
                left = deadline - time.monotonic()
                if left <= 0:
                    reason = f": {self._failure}" if self._failure else ""
                    raise StoreError(f"the playbook runs could not be written to the store in time{reason}")
                self._cond.wait(left)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until everything queued so far is committed (before reading the store in this process)."""
        with self._cond:
            ticket = self._queued
        if ticket:
            self.wait(ticket, timeout)

    def lost(self, run_id: str) -> bool:
        """True when the run's claim was refused at commit: another process had stored the same key."""
        with self._cond:
            return run_id in self._lost

    def close(self, timeout: float = 60.0) -> None:
        """Commit what is queued and stop the thread.

        Raises:
            StoreError: what was queued could not be committed (the recorder stopped, or the store stayed
                unwritable for `timeout` seconds); the records lost are logged.
        """
        try:
            self.flush(timeout)
        finally:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
                thread = self._thread
            if thread is not None:
                thread.join(timeout)

    # The thread ----------------------------------------------------------------------------------------------

    def _take(self) -> list[_Item] | None:
        """The next batch, once it is due; None when closing with nothing left."""
        with self._cond:
            while True:
                if self._pending:
                    due = self._first_at + self.max_delay
                    now = time.monotonic()
                    if self._urgent or self._closing or len(self._pending) >= self.max_records or now >= due:
                        batch, self._pending = self._pending, []
                        self._urgent = False
                        return batch
                    self._cond.wait(due - now)
                elif self._closing:
                    return None
                else:
                    self._cond.wait()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # whatever stops the thread must stop the steps with it
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            with self._cond:
                self._broken = message
                lost_count = self._queued - self._committed
                self._cond.notify_all()
            self.stopped.set()
            log.error(  # noqa: TRY400 - one line for the log, not a traceback
                "the playbook recorder stopped, %d records are not written and no further step runs: %s",
                lost_count,
                message,
            )

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            while True:
                try:
                    lost = self._commit(batch)
                except _TRANSIENT as exc:
                    message = str(exc).splitlines()[0]
                    with self._cond:
                        first, self._failure = self._failure is None, message
                        if self._closing:
                            # close() already waited its timeout: say what is lost rather than retry forever.
                            lost_count = len(batch) + len(self._pending)
                            log.error("%d playbook records could not be written: %s", lost_count, message)  # noqa: TRY400 - no traceback
                            return
                    if first:
                        log.warning("playbook records wait for the store (retrying): %s", message)
                    time.sleep(_RETRY)
                    continue
                break
            with self._cond:
                self._committed += len(batch)
                self._lost |= lost
                self._failure = None
                self.commits += 1
                self._cond.notify_all()

    def _commit(self, batch: Sequence[_Item]) -> set[str]:
        """Write one batch in one transaction; returns the run ids whose claims were lost."""
        audits = [i for i in batch if isinstance(i, AuditItem)]
        records = [i.row for i in batch if isinstance(i, _RecordRow)]
        runs: dict[str, RunState] = {}
        new: set[str] = set()
        for item in batch:
            if isinstance(item, _RunWrite):
                runs[item.state.run_id] = item.state  # the latest state of each run wins
                if item.new:
                    new.add(item.state.run_id)
        with self.connect() as store:
            conn = store.conn
            conn.execute("BEGIN TRANSACTION").fetchall()
            try:
                lost = self._write(conn, audits, records, runs, new)
            except BaseException:
                conn.execute("ROLLBACK").fetchall()
                raise
            conn.execute("COMMIT").fetchall()
        return lost

    def _write(
        self,
        conn: duckdb.DuckDBPyConnection,
        audits: Sequence[AuditItem],
        records: Sequence[tuple[Any, ...]],
        runs: dict[str, RunState],
        new: set[str],
    ) -> set[str]:
        lost: set[str] = set()
        if new:
            keys = {runs[r].idempotency_key: r for r in new}
            taken = conn.execute(
                "SELECT idempotency_key FROM playbook_runs WHERE list_contains(?, idempotency_key)",
                [list(keys)],
            ).fetchall()
            lost = {keys[k] for (k,) in taken}
            for run_id in lost:
                log.error("playbook run %s lost its claim: another process ran the same occurrence", run_id)
        inserts = [astuple(runs[r]) for r in new - lost]
        updates = [astuple(s) for r, s in runs.items() if r not in new]
        if inserts:
            _insert(conn, "playbook_runs", _RUN_TYPES, inserts)
        for start in range(0, len(updates), _CHUNK):
            # The key columns are never updated: only the columns a run changes as it goes.
            values, params = _values(_RUN_TYPES, updates[start : start + _CHUNK])
            conn.execute(
                f"UPDATE playbook_runs SET {_RUN_SETS} FROM ({values}) AS u({_RUN_COLUMNS}) "
                "WHERE playbook_runs.run_id = u.run_id",
                params,
            ).fetchall()
        if records:
            _insert(conn, "playbook_records", _RECORD_TYPES, records)
        if audits:
            tail = conn.execute("SELECT seq, hash FROM playbook_audit ORDER BY seq DESC LIMIT 1").fetchall()
            seq, prev = (int(tail[0][0]), str(tail[0][1])) if tail else (0, GENESIS)
            rows = []
            for a in audits:
                seq += 1
                digest = record_hash(
                    seq, a.recorded_at, a.run_id, a.playbook, a.event, a.step, a.detail, prev
                )
                rows.append(
                    (seq, a.recorded_at, a.run_id, a.playbook, a.event, a.step, a.detail, prev, digest)
                )
                prev = digest
            _insert(conn, "playbook_audit", _AUDIT_TYPES, rows)
        return lost
