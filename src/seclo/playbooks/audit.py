"""The audit trail: an append-only, hash-chained table of everything playbooks decide and do.

Each record's hash is SHA-256 over the canonical JSON of the record (seq, time, run, playbook, event, step,
detail) followed by the previous record's hash, so changing, removing or reordering any record breaks the chain
from that record on. Canonical JSON: keys sorted, no spaces, UTF-8 (as RFC 8785 does for the values seclo writes).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from seclo.store import Store
from seclo.store.sql import run

__all__ = ["GENESIS", "AuditLog", "ChainCheck", "canonical_json", "record_hash", "verify_chain"]

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace (the bytes that are hashed)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(
    seq: int,
    recorded_at: datetime,
    run_id: str | None,
    playbook: str | None,
    event: str,
    step: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """The hash of one record given the previous record's hash."""
    record = {
        "seq": seq,
        "recorded_at": recorded_at.isoformat(timespec="microseconds"),
        "run_id": run_id,
        "playbook": playbook,
        "event": event,
        "step": step,
        "detail": detail,
    }
    return hashlib.sha256((canonical_json(record) + prev_hash).encode("utf-8")).hexdigest()


class AuditLog:
    """Appends records to playbook_audit. One AuditLog per store connection; it remembers the chain's tail.

    Args:
        store: the store (opened for writing).
        redact: applied to every detail value before it is written.
        lock: serialises writes with the other users of the connection.
    """

    def __init__(
        self, store: Store, redact: Callable[[Any], Any] = lambda v: v, lock: threading.RLock | None = None
    ) -> None:
        self.store = store
        self.redact = redact
        self.lock = lock or threading.RLock()
        self._tail: tuple[int, str] | None = None

    def _load_tail(self) -> tuple[int, str]:
        rows = self.store.conn.execute(
            "SELECT seq, hash FROM playbook_audit ORDER BY seq DESC LIMIT 1"
        ).fetchall()
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)

    def append(
        self,
        event: str,
        detail: Mapping[str, Any],
        *,
        run_id: str | None = None,
        playbook: str | None = None,
        step: str | None = None,
    ) -> int:
        """Append one record and return its seq."""
        text = canonical_json(self.redact(dict(detail)))
        with self.lock:
            seq, prev = self._tail if self._tail is not None else self._load_tail()
            seq += 1
            now = datetime.now(UTC).replace(tzinfo=None)
            digest = record_hash(seq, now, run_id, playbook, event, step, text, prev)
            run(
                self.store.conn,
                "INSERT INTO playbook_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, now, run_id, playbook, event, step, text, prev, digest],
            )
            self._tail = (seq, digest)
        return seq

    def forget_tail(self) -> None:
        """Read the tail from the store again on the next append (after a failed transaction)."""
        self._tail = None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of checking the audit chain.

    Attributes:
        records: how many records were checked.
        broken_seq: the first record whose hash or link does not match (None: the chain holds).
        reason: why that record is broken.
    """

    records: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when every record links to the one before and hashes to its stored hash."""
        return self.broken_seq is None


def verify_chain(store: Store) -> ChainCheck:
    """Recompute every record's hash in order and report the first one that does not match."""
    rows = store.conn.execute(
        "SELECT seq, recorded_at, run_id, playbook, event, step, detail, prev_hash, hash FROM playbook_audit "
        "ORDER BY seq"
    ).fetchall()
    prev = GENESIS
    for index, (seq, at, run_id, playbook, event, step, detail, prev_hash, stored) in enumerate(
        rows, start=1
    ):
        if seq != index:
            return ChainCheck(len(rows), index, f"record {index} is missing (found seq {seq} in its place)")
        if prev_hash != prev:
            return ChainCheck(len(rows), seq, "its prev_hash does not match the hash of the record before it")
        computed = record_hash(seq, at, run_id, playbook, event, step, detail, prev_hash)
        if computed != stored:
            return ChainCheck(len(rows), seq, "its contents do not match its hash (the record was changed)")
        prev = stored
    return ChainCheck(len(rows))
