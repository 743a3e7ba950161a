"""The Alertmanager payload model, the fsync'ed journal and its idempotent merge into the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

import seclo.server.inbox as inbox_module
from seclo.errors import InputError
from seclo.server import alert_store
from seclo.server.alertmanager import AlertRecord, alert_records, parse_payload
from seclo.server.app import accepts_gzip
from seclo.server.inbox import AlertInbox
from seclo.store import Store

RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "groupKey": "g", "status": "firing", "receiver": "seclo", "alerts": list(alerts)}


def _alert(fingerprint: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "A", **labels},
        "startsAt": "2026-11-23T08:00:00+01:00",
        "endsAt": "2026-11-23T08:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


def test_payload_reasons_name_the_field() -> None:
    """A payload missing a field or of another version is refused with the field's path."""
    with pytest.raises(InputError, match=r"alerts\.0\.startsAt: Field required"):
        parse_payload(json.dumps(_payload({"status": "firing", "labels": {}, "fingerprint": "x"})).encode())
    with pytest.raises(InputError, match=r"version: Input should be '4'"):
        parse_payload(json.dumps(_payload() | {"version": 4}).encode())
    with pytest.raises(InputError, match="not JSON"):
        parse_payload(b"\xff\xfe")


def test_alert_becomes_an_incident_detected_at_its_start() -> None:
    """Times become naive UTC; the zero endsAt of a firing alert is no end; labels map kind and severity."""
    payload, _ = parse_payload(
        json.dumps(
            _payload(
                _alert("f1", severity="ticket"), _alert("f2", "resolved", severity="critical", kind="outage")
            )
        ).encode()
    )
    (first, second), unusable = alert_records(payload, RECEIVED)
    assert unusable == []
    assert (first.starts_at, first.ends_at, first.status) == (datetime(2026, 11, 23, 7), None, "firing")
    assert (first.incident_kind, first.incident_severity, first.title) == ("security", "medium", "A")
    assert (second.ends_at, second.incident_kind, second.incident_severity) == (
        datetime(2026, 11, 23, 8, 30),
        "outage",
        "critical",
    )


def test_gzip_is_served_only_when_accepted() -> None:
    """Accept-Encoding decides: gzip and * accept, q=0 refuses, absent means plain."""
    assert accepts_gzip("gzip")
    assert accepts_gzip("deflate, gzip;q=0.5")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip(None)
    assert not accepts_gzip("identity")


def test_merge_is_idempotent_and_a_resolution_sticks(tmp_path: Path, store: Store) -> None:
    """The same alert merged again adds nothing; resolved is kept even if a late firing copy follows."""
    inbox = AlertInbox(tmp_path / "inbox")
    inbox.accept(_payload(_alert("f1")), RECEIVED)
    inbox.accept(_payload(_alert("f1"), _alert("f1", "resolved")), RECEIVED)
    assert inbox.pending()
    first = inbox.merge(store)
    assert (first.lines, first.new, first.unreadable) == (2, 1, 0)
    assert not inbox.pending()
    inbox.accept(_payload(_alert("f1")), RECEIVED)
    assert inbox.merge(store).new == 0
    inbox.cursor.unlink()  # as after a crash before the cursor was written: everything is merged again
    again = inbox.merge(store)
    assert (again.lines, again.new, again.resolved) == (3, 0, 0)
    rows = store.conn.execute("SELECT status, ends_at FROM alert_events").fetchall()
    assert rows == [("resolved", datetime(2026, 11, 23, 8, 30))]
    incidents = store.conn.execute("SELECT count(*), max(resolved_at) FROM incidents").fetchall()
    assert incidents == [(1, datetime(2026, 11, 23, 8, 30))]


def test_a_torn_last_line_is_neither_merged_nor_glued_to_the_next(tmp_path: Path, store: Store) -> None:
    """A crash mid-write leaves half a line (never acknowledged); later payloads still merge."""
    inbox = AlertInbox(tmp_path / "inbox")
    inbox.accept(_payload(_alert("f1")), RECEIVED)
    with inbox.journal.open("ab") as journal:
        journal.write(b'{"received_at": "2026-11-23T10:00:00+00:00", "payl')
    assert inbox.merge(store).new == 1  # the torn line is not complete: left for later, not an error
    inbox.accept(_payload(_alert("f2")), RECEIVED)
    result = inbox.merge(store)
    assert (result.new, result.unreadable) == (1, 1)
    fingerprints = store.conn.execute("SELECT fingerprint FROM alert_events ORDER BY 1").fetchall()
    assert fingerprints == [("f1",), ("f2",)]


def _rejected(store: Store) -> list[tuple[Any, ...]]:
    return store.conn.execute("SELECT line, field, reason FROM rejected ORDER BY line, field").fetchall()


def test_times_outside_years_1_to_9999_in_utc_are_unusable_but_the_zero_end_is_no_end() -> None:
    """A start before year 1 in UTC, or a resolution after 9999, names its field; the zero endsAt stays valid."""
    early = _alert("early") | {"startsAt": "0001-01-01T00:30:00+01:00"}
    late = _alert("late", "resolved") | {"endsAt": "9999-12-31T23:30:00-01:00"}
    zero = _alert("zero") | {"startsAt": "0001-01-01T00:00:00Z"}
    payload, _ = parse_payload(json.dumps(_payload(early, late, zero, _alert("ok"))).encode())
    records, unusable = alert_records(payload, RECEIVED)
    assert [(u.index, u.field) for u in unusable] == [(0, "alerts.0.startsAt"), (1, "alerts.1.endsAt")]
    assert "outside years 1 to 9999" in unusable[0].reason
    assert [(r.fingerprint, r.starts_at, r.ends_at) for r in records] == [
        ("zero", datetime(1, 1, 1), None),
        ("ok", datetime(2026, 11, 23, 7), None),
    ]


def test_a_lone_surrogate_is_journaled_and_only_its_alert_is_rejected(tmp_path: Path, store: Store) -> None:
    """A label holding "\\ud800" (valid JSON) is journaled, its alert rejected, the others merged."""
    inbox = AlertInbox(tmp_path / "inbox")
    document = json.loads(json.dumps(_payload(_alert("bad", service="\ud800"), _alert("good"))))
    inbox.accept(document, RECEIVED)
    result = inbox.merge(store)
    assert (result.lines, result.new, result.rejected) == (1, 1, 1)
    assert store.conn.execute("SELECT fingerprint FROM alert_events").fetchall() == [("good",)]
    assert _rejected(store) == [
        (1, "alerts.0.labels.service", "not valid Unicode text (surrogates not allowed at position 0)")
    ]


def test_unreadable_lines_are_rejected_once_with_their_line_and_the_cursor_moves_past(
    tmp_path: Path, store: Store
) -> None:
    """Broken JSON, a payload of the wrong shape and a deep nesting are rejected by line; merging again adds none."""
    inbox = AlertInbox(tmp_path / "inbox")
    inbox.accept(_payload(_alert("f1")), RECEIVED)
    inbox.journal.parent.mkdir(parents=True, exist_ok=True)
    with inbox.journal.open("ab") as journal:
        journal.write(b"{not json\n")
        journal.write(b'{"received_at": "2026-11-23T10:00:00+00:00", "payload": {"version": "4"}}\n')
        journal.write(b"[" * 100_000 + b"\n")
        journal.write(
            b'{"received_at": "0001-01-01T00:30:00+01:00", "payload": '
            + json.dumps(_payload()).encode()
            + b"}\n"
        )
    inbox.accept(_payload(_alert("f2")), RECEIVED)
    result = inbox.merge(store)
    assert (result.lines, result.new, result.unreadable, result.rejected) == (6, 2, 4, 4)
    assert not inbox.pending()
    rows = _rejected(store)
    assert [(line, field) for line, field, _ in rows] == [(2, ""), (3, "payload.groupKey"), (4, ""), (5, "")]
    assert "JSONDecodeError" in rows[0][2]
    assert "RecursionError" in rows[2][2]
    assert "outside years 1 to 9999" in rows[3][2]
    inbox.cursor.unlink()  # as after a crash before the cursor was written: merged again, recorded once
    again = inbox.merge(store)
    assert (again.new, again.rejected) == (0, 0)
    assert len(_rejected(store)) == 4


def test_a_line_the_store_refuses_is_rejected_alone(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the store refuses a batch for its data, the batch is merged line by line and only that line rejected."""
    real = alert_store.merge_records

    def refuse_poison(conn: duckdb.DuckDBPyConnection, records: list[AlertRecord]) -> tuple[int, int]:
        # No alert seclo accepts makes DuckDB refuse it today; this stands in for one that would.
        if any(r.fingerprint == "poison" for r in records):
            raise duckdb.ConversionException("Could not convert")
        return real(conn, records)

    monkeypatch.setattr(inbox_module, "merge_records", refuse_poison)
    inbox = AlertInbox(tmp_path / "inbox")
    for fingerprint in ("a", "poison", "b"):
        inbox.accept(_payload(_alert(fingerprint)), RECEIVED)
    result = inbox.merge(store)
    assert (result.lines, result.new, result.rejected) == (3, 2, 1)
    assert store.conn.execute("SELECT fingerprint FROM alert_events ORDER BY 1").fetchall() == [
        ("a",),
        ("b",),
    ]
    assert _rejected(store) == [(2, "", "the store refused it: ConversionException: Could not convert")]
    assert not inbox.pending()
