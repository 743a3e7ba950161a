"""The audit trail: an append-only, hash-chained table of everything playbooks decide and do.

The hashing is in seclo.playbooks.chain; records are queued here and chained and committed in batches by the
playbook recorder (seclo.playbooks.recorder), in the order they were appended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from seclo.playbooks.chain import GENESIS, canonical_json, record_hash
from seclo.playbooks.recorder import AuditItem, Recorder
from seclo.store import Store

__all__ = ["GENESIS", "AuditLog", "ChainCheck", "canonical_json", "record_hash", "verify_chain"]


class AuditLog:
    """Appends records to playbook_audit through a recorder.

    Args:
        recorder: the background writer that chains and commits the records.
        redact: applied to every detail value before it is queued.
    """

    def __init__(self, recorder: Recorder, redact: Callable[[Any], Any] = lambda v: v) -> None:
        self.recorder = recorder
        self.redact = redact

    def append(
        self,
        event: str,
        detail: Mapping[str, Any],
        *,
        run_id: str | None = None,
        playbook: str | None = None,
        step: str | None = None,
    ) -> int:
        """Queue one record; returns its ticket (see `Recorder.wait`)."""
        text = canonical_json(self.redact(dict(detail)))
        now = datetime.now(UTC).replace(tzinfo=None)
        return self.recorder.audit(AuditItem(now, run_id, playbook, event, step, text))


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of checking the audit chain.

    Attributes:
        records: how many records were checked.
        broken_seq: the first record whose hash or link does not match (None: the chain holds).
        reason: why that record is broken.
        head: the last record's hash (GENESIS when there is none): note it somewhere else, and a later check
            with `expect` detects records removed from the end or a chain rebuilt from scratch.
        unaudited: runs in playbook_runs whose audit records are missing (no run_start, or an ended run without
            its run_end): records were deleted, even when what is left of the chain still links up.
    """

    records: int
    broken_seq: int | None = None
    reason: str = ""
    head: str = GENESIS
    unaudited: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every record links to the one before and hashes to its stored hash, and every run has
        its records."""
        return self.broken_seq is None and not self.unaudited


def verify_chain(store: Store, expect: tuple[int, str] | None = None) -> ChainCheck:
    """Recompute every record's hash in order and report the first one that does not match.

    Args:
        store: the store.
        expect: (seq, hash) of a record noted earlier (a head printed by `seclo playbook verify-audit`); the
            chain is broken unless it still holds that record with that hash.
    """
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
        if expect is not None and seq == expect[0] and stored != expect[1]:
            return ChainCheck(len(rows), seq, "its hash is not the one noted for it (the chain was rebuilt)")
        prev = stored
    if expect is not None and expect[0] > len(rows):
        return ChainCheck(
            len(rows),
            len(rows) + 1,
            f"record {expect[0]}, noted earlier, is gone (records were removed)",
            prev,
        )
    return _cross_check(store, ChainCheck(len(rows), head=prev))


# Runs without the records every run has: run_start (queued before the run's row), and run_end once it ended
# (queued before its final state). The recorder commits in queue order, so a run on disk always has them.
_UNAUDITED = """
SELECT r.run_id, r.status FROM playbook_runs r
LEFT JOIN (
    SELECT run_id, count(*) FILTER (WHERE event = 'run_start') AS starts,
        count(*) FILTER (WHERE event = 'run_end') AS ends
    FROM playbook_audit WHERE run_id IS NOT NULL GROUP BY run_id
) a USING (run_id)
WHERE coalesce(a.starts, 0) = 0
   OR (r.status IN ('succeeded', 'failed', 'expired') AND coalesce(a.ends, 0) = 0)
ORDER BY r.started_at, r.run_id
"""


def _cross_check(store: Store, check: ChainCheck) -> ChainCheck:
    """The chain holds: now check that every run in playbook_runs has its audit records."""
    missing = store.conn.execute(_UNAUDITED).fetchall()
    if not missing:
        return check
    run_id, status = missing[0]
    reason = (
        f"{len(missing)} of the runs in playbook_runs lack their audit records (records were deleted); "
        f"the first: run {run_id} ({status})"
    )
    return replace(check, reason=reason, unaudited=tuple(str(r) for r, _ in missing))
