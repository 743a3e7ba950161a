"""Elastic Common Schema NDJSON: nested and dotted fields, categories, invalid documents and fuzzing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_checks import check_survives, edit_text

from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
from seclo.store import Store, open_store

SSH_FAILURE: dict[str, Any] = {
    "@timestamp": "2024-03-01T10:00:00.000Z",
    "ecs": {"version": "8.11.0"},
    "event": {
        "kind": "event",
        "category": ["authentication"],
        "type": ["start"],
        "action": "ssh_login",
        "outcome": "failure",
        "dataset": "system.auth",
    },
    "user": {"name": "root"},
    "source": {"ip": "203.0.113.5", "port": 50000},
    "host": {"name": "web1", "hostname": "web1.example.com"},
    "process": {"name": "sshd", "pid": 1234},
}
SSO_SUCCESS: dict[str, Any] = {
    "@timestamp": "2024-03-01T10:01:00+01:00",
    "event.category": "authentication",
    "event.outcome": "success",
    "event.dataset": "okta.system",
    "user.name": "alice",
    "source.ip": "198.51.100.7",
    "host.hostname": "sso",
}
PROCESS_START: dict[str, Any] = {
    "@timestamp": "2024-03-01T10:02:00Z",
    "event": {"category": ["process"], "type": ["start"], "outcome": "success"},
    "process": {"name": "bash"},
}
SAMPLE = [json.dumps(doc) for doc in (SSH_FAILURE, SSO_SUCCESS, PROCESS_START)]


def _dotted(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The same document with every nested object flattened to dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            flat |= _dotted(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _write(tmp_path: Path, *lines: str, name: str = "events.ecs.ndjson") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(store: Store, path: Path, **options: object) -> ImportResult:
    return import_path(store, get_importer("ecs"), path, ImportOptions(**options))  # type: ignore[arg-type]


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store.conn.execute(sql).fetchall()


EVENT_COLUMNS = "time, user, outcome, mfa, src_ip, service, host, source"


def test_authentication_documents_map_to_auth_events(store: Store, tmp_path: Path) -> None:
    """Time (in UTC), user, outcome, address, host and service come from the ECS fields."""
    result = _import(store, _write(tmp_path, *SAMPLE))
    rows = _rows(store, f"SELECT {EVENT_COLUMNS} FROM auth_events ORDER BY time")
    assert rows == [
        (datetime(2024, 3, 1, 9, 1), "alice", "success", None, "198.51.100.7", "okta.system", "sso", "ecs"),
        (datetime(2024, 3, 1, 10, 0), "root", "failure", None, "203.0.113.5", "sshd", "web1", "ecs"),
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_skipped, result.rows_rejected) == (3, 2, 1, 0)


def test_dotted_keys_read_the_same_as_nested_objects(store: Store, tmp_path: Path) -> None:
    """A document written with dotted keys loads exactly the row its nested form loads."""
    _import(store, _write(tmp_path, json.dumps(SSH_FAILURE), name="nested.ndjson"))
    nested = _rows(store, f"SELECT {EVENT_COLUMNS} FROM auth_events")
    with open_store(None) as other:
        _import(other, _write(tmp_path, json.dumps(_dotted(SSH_FAILURE)), name="dotted.ndjson"))
        dotted = _rows(other, f"SELECT {EVENT_COLUMNS} FROM auth_events")
    assert nested == dotted
    assert len(nested) == 1


def test_documents_of_other_categories_are_skipped(store: Store, tmp_path: Path) -> None:
    """Process events and documents without event.category are counted as skipped, saying why."""
    path = _write(tmp_path, SAMPLE[2], json.dumps({"@timestamp": "2024-03-01T10:00:00Z", "message": "hello"}))
    result = _import(store, path)
    assert (result.rows_loaded, result.rows_skipped, result.rows_rejected) == (0, 2, 0)
    assert _rows(store, "SELECT line, field, reason FROM rejected ORDER BY line") == [
        (1, "event.category", 'event.category ["process"] is not authentication'),
        (2, "event.category", "no event.category: not an authentication event"),
    ]


def test_unusable_documents_are_invalid_with_field_and_reason(store: Store, tmp_path: Path) -> None:
    """An unknown outcome, a missing or unreadable @timestamp and non-JSON lines are invalid rejects."""
    event = SSH_FAILURE["event"]
    path = _write(
        tmp_path,
        SAMPLE[0],
        json.dumps({**SSH_FAILURE, "event": {**event, "outcome": "unknown"}}),
        json.dumps({k: v for k, v in SSH_FAILURE.items() if k != "@timestamp"}),
        json.dumps({**SSH_FAILURE, "@timestamp": "soon"}),
        "{not json",
    )
    result = _import(store, path)
    assert (result.rows_loaded, result.rows_rejected) == (1, 4)
    assert _rows(store, "SELECT line, field, reason FROM rejected ORDER BY line") == [
        (2, "outcome", "must be one of success, failure, not unknown"),
        (3, "@timestamp", "missing; every ECS event has an @timestamp"),
        (4, "@timestamp", "not a valid time: soon"),
        (5, None, "not a JSON object"),
    ]


def test_timestamp_without_offset_is_local_to_the_time_zone(store: Store, tmp_path: Path) -> None:
    """An @timestamp without an offset is read in the import's time zone and stored in UTC."""
    doc = {**SSH_FAILURE, "@timestamp": "2024-07-01T12:00:00"}
    _import(store, _write(tmp_path, json.dumps(doc)), timezone="Asia/Tokyo")
    assert _rows(store, "SELECT strftime(time, '%H:%M') FROM auth_events") == [("03:00",)]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=400))
def test_random_bytes_never_crash(fuzz_store: Store, tmp_path: Path, data: bytes) -> None:
    """Random bytes given as ECS are rejected with a reason or refused as a file, never a crash."""
    path = tmp_path / "fuzz.ndjson"
    path.write_bytes(data)
    check_survives(fuzz_store, "ecs", path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from([*SAMPLE, json.dumps(_dotted(SSH_FAILURE))]),
    edits=st.lists(
        st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.integers(0, 600), st.characters()),
        max_size=6,
    ),
)
def test_mutated_documents_never_crash(
    fuzz_store: Store, tmp_path: Path, base: str, edits: list[tuple[str, int, str]]
) -> None:
    """Real-looking ECS documents with characters replaced, inserted or deleted are loaded or rejected."""
    text = edit_text(base, edits)
    path = tmp_path / "fuzz.ndjson"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    check_survives(fuzz_store, "ecs", path)
