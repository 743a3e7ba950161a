"""The audit trail's hash chain: canonical JSON of a record, hashed with the previous record's hash.

Each record's hash is SHA-256 over the canonical JSON of the record (seq, time, run, playbook, event, step,
detail) followed by the previous record's hash, so changing, removing or reordering any record breaks the chain
from that record on. Canonical JSON: keys sorted, no spaces, UTF-8 (as RFC 8785 does for the values seclo writes).

Text that UTF-8 cannot encode (a lone surrogate such as "\\ud800", which JSON allows in an alert's labels) is
made storable before it is queued: each such character becomes its `\\udXXX` escape, in the stored record and in
the hashed one alike, so the recorder never fails on it and verify-audit recomputes the same hash. Valid text is
unchanged, so chains written before this rule still verify.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

__all__ = ["GENESIS", "canonical_json", "record_hash", "storable", "storable_text"]

GENESIS = "0" * 64


def storable_text(text: str) -> str:
    """`text`, with each character UTF-8 cannot encode (a lone surrogate) replaced by its `\\udXXX` escape."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable(value: Any) -> Any:
    """`value` itself, or for text, `storable_text(value)`."""
    return storable_text(value) if isinstance(value, str) else value


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace (the bytes that are hashed), always encodable."""
    return storable_text(
        json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    )


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
