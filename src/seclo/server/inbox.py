"""The Alertmanager inbox: accepted payloads are journaled durably, then merged into the store.

`seclo serve` answers 2xx only once a payload is in the journal, an append-only NDJSON file
(`.seclo/inbox/alertmanager.ndjson` in the workspace) written and fsync'ed under an exclusive lock. Merging
into the store happens later, whenever the store can be opened for writing (another process, such as
`seclo import`, may hold it). The journal is never rewritten: a cursor file beside it records the byte
offset merged so far, replaced atomically after each merge commits. A crash between the commit and the
cursor only means merging a few lines again, which adds nothing: records are keyed by (fingerprint,
startsAt), and a resolved alert stays resolved.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from seclo.atomic import write_text_atomic
from seclo.importers.merge import row_key_expression
from seclo.server.alertmanager import AlertRecord, WebhookPayload, alert_records
from seclo.store import Store, table
from seclo.store.sql import changed, run

__all__ = ["AlertInbox", "MergeResult"]

log = logging.getLogger(__name__)

_RECEIVED = """fingerprint VARCHAR, starts_at TIMESTAMP, ends_at TIMESTAMP, status VARCHAR, alertname VARCHAR,
severity VARCHAR, service VARCHAR, slo VARCHAR, labels VARCHAR, annotations VARCHAR, generator_url VARCHAR,
receiver VARCHAR, received_at TIMESTAMP, incident_id VARCHAR, kind VARCHAR, incident_severity VARCHAR,
title VARCHAR"""
_COLUMNS = (
    "fingerprint, starts_at, ends_at, status, alertname, severity, service, slo, labels, annotations, "
    "generator_url, receiver, received_at, incident_id"
)


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What one merge did: journal lines read, alerts new to the store, alerts resolved, lines unreadable."""

    lines: int
    new: int
    resolved: int
    unreadable: int


class AlertInbox:
    """The journal of accepted Alertmanager payloads of a workspace, and its merge into the store."""

    def __init__(self, folder: Path) -> None:
        self.journal = folder / "alertmanager.ndjson"
        self.cursor = folder / "alertmanager.offset"
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self, mode: str) -> Iterator[int]:
        """The journal open with an exclusive lock, against this process's threads and other processes."""
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.journal, os.O_RDWR | os.O_CREAT | (os.O_APPEND if mode == "a" else 0), 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield fd
            finally:
                os.close(fd)  # closing releases the lock

    def accept(self, document: object, received_at: datetime | None = None) -> None:
        """Append one accepted payload and fsync it; when this returns, the payload survives a crash.

        Raises:
            OSError: the journal cannot be written (the caller must then not acknowledge the payload).
        """
        moment = received_at or datetime.now(UTC)
        line = json.dumps(
            {"received_at": moment.isoformat(), "payload": document},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        created = not self.journal.exists()
        with self._locked("a") as fd:
            size = os.fstat(fd).st_size
            # A crash mid-write can leave a line without its newline; never glue a new line onto it.
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line + b"\n")
            os.fsync(fd)
        if created:
            directory = os.open(self.journal.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def _offset(self) -> int:
        try:
            return int(self.cursor.read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:
            log.warning("%s is not a byte offset; merging the whole journal again", self.cursor)
            return 0

    def pending(self) -> bool:
        """True when the journal holds lines not merged into the store yet."""
        try:
            return self.journal.stat().st_size > self._offset()
        except FileNotFoundError:
            return False

    def _read_new(self) -> tuple[list[AlertRecord], int, int, int]:
        """Records of the complete lines after the cursor, the lines read, unreadable ones, the new offset."""
        start = self._offset()
        with self._locked("r") as fd:
            size = os.fstat(fd).st_size
            data = os.pread(fd, max(size - start, 0), start)
        end = data.rfind(b"\n") + 1  # only whole lines: one being written is read next time
        records: list[AlertRecord] = []
        lines = unreadable = 0
        for raw in data[:end].splitlines():
            if not raw.strip():
                continue
            lines += 1
            try:
                entry = json.loads(raw)
                payload = WebhookPayload.model_validate(entry["payload"])
                received = datetime.fromisoformat(entry["received_at"])
            except (ValueError, KeyError, TypeError) as exc:
                unreadable += 1
                log.warning("skipping an unreadable line of %s: %s", self.journal, type(exc).__name__)
                continue
            records += alert_records(payload, received)
        return records, lines, unreadable, start + end

    def merge(self, store: Store) -> MergeResult:
        """Merge the journal's new lines into alert_events and incidents, in one transaction.

        Raises:
            StoreError: the store cannot be written (the lines stay pending).
        """
        records, lines, unreadable, offset = self._read_new()
        new = resolved = 0
        if records:
            new, resolved = _merge_records(store, records)
        if offset != self._offset():
            write_text_atomic(self.cursor, f"{offset}\n")
        return MergeResult(lines, new, resolved, unreadable)


def _collapse(records: list[AlertRecord]) -> list[AlertRecord]:
    """One record per (fingerprint, startsAt): the first received, with the resolution if any arrived."""
    out: dict[tuple[str, datetime], AlertRecord] = {}
    for record in records:
        key = (record.fingerprint, record.starts_at)
        first = out.get(key)
        if first is None:
            out[key] = record
        elif first.status == "firing" and record.status == "resolved":
            out[key] = replace(first, status="resolved", ends_at=record.ends_at)
    return list(out.values())


def _merge_records(store: Store, records: list[AlertRecord]) -> tuple[int, int]:
    """Insert alerts not seen before and resolve those that were firing; the same for their incidents."""
    rows = [
        (
            r.fingerprint,
            r.starts_at,
            r.ends_at,
            r.status,
            r.alertname,
            r.severity,
            r.service,
            r.slo,
            r.labels,
            r.annotations,
            r.generator_url,
            r.receiver,
            r.received_at,
            r.incident_id,
            r.incident_kind,
            r.incident_severity,
            r.title,
        )
        for r in _collapse(records)
    ]
    alert_key = row_key_expression(table("alert_events"))
    incident_key = row_key_expression(table("incidents"))
    with store.transaction() as conn:
        run(conn, f"CREATE OR REPLACE TEMP TABLE _received ({_RECEIVED})")
        try:
            placeholders = ", ".join(["(" + ", ".join(["?"] * len(rows[0])) + ")"] * len(rows))
            run(conn, f"INSERT INTO _received VALUES {placeholders}", [v for row in rows for v in row])
            new = changed(
                conn,
                f"""INSERT INTO alert_events
                SELECT {_COLUMNS}, NULL, NULL FROM _received AS n
                WHERE NOT EXISTS (SELECT 1 FROM alert_events AS a
                                  WHERE a.fingerprint = n.fingerprint AND a.starts_at = n.starts_at)""",
            )
            resolved = changed(
                conn,
                """UPDATE alert_events AS a SET status = 'resolved', ends_at = n.ends_at
                FROM _received AS n
                WHERE a.fingerprint = n.fingerprint AND a.starts_at = n.starts_at
                  AND a.status = 'firing' AND n.status = 'resolved'""",
            )
            run(
                conn,
                f"""UPDATE alert_events AS a SET row_key = {alert_key}
                WHERE EXISTS (SELECT 1 FROM _received AS n
                              WHERE a.fingerprint = n.fingerprint AND a.starts_at = n.starts_at)""",
            )
            run(
                conn,
                """INSERT INTO incidents (incident_id, kind, severity, service, occurred_at, detected_at,
                                          resolved_at, title)
                SELECT incident_id, kind, incident_severity, service, starts_at, starts_at, ends_at, title
                FROM _received AS n
                WHERE NOT EXISTS (SELECT 1 FROM incidents AS i WHERE i.incident_id = n.incident_id)""",
            )
            run(
                conn,
                """UPDATE incidents AS i SET resolved_at = n.ends_at
                FROM _received AS n
                WHERE i.incident_id = n.incident_id AND i.resolved_at IS NULL AND n.ends_at IS NOT NULL""",
            )
            run(
                conn,
                f"""UPDATE incidents SET row_key = {incident_key}
                WHERE incident_id IN (SELECT incident_id FROM _received)""",
            )
        finally:
            run(conn, "DROP TABLE IF EXISTS _received")
    return new, resolved
