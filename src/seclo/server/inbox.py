"""The Alertmanager inbox: accepted payloads are journaled durably, then merged into the store.

`seclo serve` answers 2xx only once a payload is in the journal (seclo.server.journal: an append-only NDJSON
file, `.seclo/inbox/alertmanager.ndjson` in the workspace, fsync'ed under an exclusive lock). Merging into the
store happens later, whenever the store can be opened for writing (another process, such as `seclo import`,
may hold it). The cursor advances only after a merge commits; a crash between the two only means merging a
few lines again, which adds nothing: records are keyed by (fingerprint, startsAt), a resolved alert stays
resolved, and a rejected line is recorded once per (line, field).

Nothing that was accepted is lost, and nothing in the journal can stop the merge: a line that cannot be read,
or an alert the store cannot hold (a time outside years 1 to 9999 in UTC, text that is not Unicode), is
written to the `rejected` table with the field and the reason, counted, and skipped, and the cursor moves
past it. If the store refuses a batch for its data, the batch is merged again line by line so that only the
line at fault is rejected.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from pydantic import ValidationError

from seclo.errors import StoreError
from seclo.server.alert_store import merge_records
from seclo.server.alertmanager import AlertRecord, WebhookPayload, alert_records
from seclo.server.journal import COMPACT_BYTES, Journal
from seclo.store import Store
from seclo.store.sql import changed

__all__ = ["AlertInbox", "MergeResult"]

log = logging.getLogger(__name__)

# Lines merged per transaction: bounded, so a journal that waited hours for a busy store is merged in steps.
BATCH_BYTES = 4 << 20
MAX_RAW_CHARS = 4096  # as the importers cut `rejected.raw`
# DuckDB errors that mean "this data", not "this store": a batch refused with one is merged line by line.
_DATA_ERRORS = (
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.ConstraintException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
)


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What one merge did: journal lines read, alerts new to the store, alerts resolved, lines unreadable,
    and rows written to `rejected` (unreadable lines and alerts the store cannot hold)."""

    lines: int
    new: int
    resolved: int
    unreadable: int
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class _Rejection:
    line: int
    field: str
    reason: str
    raw: str


@dataclass(slots=True)
class _Line:
    number: int
    raw: bytes
    unreadable: bool = False
    records: list[AlertRecord] = field(default_factory=list)
    rejections: list[_Rejection] = field(default_factory=list)


def _raw(value: object) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else json.dumps(value)
    return text[:MAX_RAW_CHARS]


def _parse(number: int, raw: bytes) -> _Line:
    """One journal line: its alerts' records, or why it (or each alert that cannot be stored) is rejected."""
    line = _Line(number, raw)
    try:
        entry = json.loads(raw)
        document = entry["payload"]
        payload = WebhookPayload.model_validate(document)
        records, unusable = alert_records(payload, datetime.fromisoformat(entry["received_at"]))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f".{part}" for part in ("payload", *first["loc"]))[1:]
        line.rejections.append(_Rejection(number, where, first["msg"], _raw(raw)))
        line.unreadable = True
    except Exception as exc:  # a line is one unit of work: whatever it holds, it is recorded and skipped
        reason = f"unreadable journal line ({type(exc).__name__}: {str(exc)[:200]})"
        line.rejections.append(_Rejection(number, "", reason, _raw(raw)))
        line.unreadable = True
    else:
        line.records = records
        alerts = document["alerts"]
        line.rejections = [_Rejection(number, u.field, u.reason, _raw(alerts[u.index])) for u in unusable]
    return line


class AlertInbox:
    """The journal of accepted Alertmanager payloads of a workspace, and its merge into the store."""

    def __init__(self, folder: Path, compact_bytes: int = COMPACT_BYTES) -> None:
        self.file = Journal(folder / "alertmanager.ndjson", folder / "alertmanager.offset", compact_bytes)
        self.journal = self.file.path
        self.cursor = self.file.cursor
        self._merging = threading.Lock()

    def accept(self, document: object, received_at: datetime | None = None) -> None:
        """Append one accepted payload and fsync it; when this returns, the payload survives a crash.

        The line is ASCII JSON (non-ASCII text as \\u escapes), so any string a JSON parser returned, even a
        lone surrogate, can be journaled; the merge decides what the store can hold.

        Raises:
            OSError: the journal cannot be written (the caller must then not acknowledge the payload).
        """
        moment = received_at or datetime.now(UTC)
        entry = {"received_at": moment.isoformat(), "payload": document}
        self.file.append(json.dumps(entry, separators=(",", ":")).encode("ascii"))

    def pending(self) -> bool:
        """True when the journal holds lines not merged into the store yet."""
        return self.file.pending()

    def merge(self, store: Store) -> MergeResult:
        """Merge the journal's new lines into alert_events and incidents, a batch per transaction.

        Raises:
            StoreError: the store cannot be written (the lines not merged stay pending).
        """
        total = MergeResult(0, 0, 0, 0)
        with self._merging:
            while True:
                chunk = self.file.read(BATCH_BYTES)
                parsed = [
                    _parse(chunk.start.line + i + 1, raw) for i, raw in enumerate(chunk.lines) if raw.strip()
                ]
                new, resolved, rejected = self._merge_lines(store, parsed) if parsed else (0, 0, 0)
                if chunk.end != chunk.start:
                    self.file.advance(chunk.end)
                unreadable = sum(p.unreadable for p in parsed)
                total = MergeResult(
                    total.lines + len(parsed),
                    total.new + new,
                    total.resolved + resolved,
                    total.unreadable + unreadable,
                    total.rejected + rejected,
                )
                if not chunk.more:
                    return total

    def _merge_lines(self, store: Store, lines: list[_Line]) -> tuple[int, int, int]:
        """Merge the lines in one transaction; if the store refuses their data, one line at a time."""
        try:
            return self._commit(store, lines)
        except _DATA_ERRORS as exc:
            log.warning(
                "the store refused a batch of the inbox (%s); merging it line by line", type(exc).__name__
            )
        new = resolved = rejected = 0
        for line in lines:
            try:
                counts = self._commit(store, [line])
            except _DATA_ERRORS as exc:
                reason = f"the store refused it: {type(exc).__name__}: {str(exc)[:200]}"
                refused = _Line(
                    line.number, line.raw, True, [], [_Rejection(line.number, "", reason, _raw(line.raw))]
                )
                counts = self._commit(store, [refused])
            new, resolved, rejected = new + counts[0], resolved + counts[1], rejected + counts[2]
        return new, resolved, rejected

    def _commit(self, store: Store, lines: list[_Line]) -> tuple[int, int, int]:
        records = [r for line in lines for r in line.records]
        rejections = [r for line in lines for r in line.rejections]
        try:
            with store.transaction() as conn:
                new, resolved = merge_records(conn, records) if records else (0, 0)
                rejected = self._reject(conn, rejections) if rejections else 0
        except duckdb.Error as exc:
            if isinstance(exc, _DATA_ERRORS):
                raise
            raise StoreError(f"cannot merge the Alertmanager inbox into the store: {exc}") from None
        return new, resolved, rejected

    def _reject(self, conn: duckdb.DuckDBPyConnection, rejections: list[_Rejection]) -> int:
        """Write rejections to `rejected`, each (line, field) once however often the line is merged."""
        rows = [(str(self.journal), r.line, r.field, r.reason, r.raw) for r in rejections]
        placeholders = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
        return changed(
            conn,
            f"""INSERT INTO rejected (batch_id, source, kind, line, field, reason, raw, category, lines)
            SELECT NULL, source, 'alertmanager', line, field, reason, raw, 'invalid', 1
            FROM (VALUES {placeholders}) AS n (source, line, field, reason, raw)
            WHERE NOT EXISTS (SELECT 1 FROM rejected AS r WHERE r.source = n.source AND r.kind = 'alertmanager'
                              AND r.line = n.line AND r.field = n.field)""",
            [v for row in rows for v in row],
        )
