"""OCSF Authentication (3002) NDJSON: field mapping, other classes, invalid events and fuzzing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_checks import check_survives, edit_text

from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
from seclo.store import Store

LOGON: dict[str, Any] = {
    "metadata": {"version": "1.1.0", "product": {"name": "Okta", "vendor_name": "Okta"}},
    "category_uid": 3,
    "class_uid": 3002,
    "activity_id": 1,
    "type_uid": 300201,
    "severity_id": 1,
    "time": 1709287200000,
    "status_id": 1,
    "status": "Success",
    "is_mfa": True,
    "user": {"name": "alice@example.com", "uid": "00u1"},
    "src_endpoint": {"ip": "198.51.100.7"},
    "service": {"name": "Okta Verify"},
    "dst_endpoint": {"hostname": "example.okta.com"},
}
FAILED_VPN: dict[str, Any] = {
    "class_uid": 3002,
    "activity_id": 1,
    "time_dt": "2024-03-01T12:00:05.250+02:00",
    "status_id": 99,
    "status": "Failure",
    "is_mfa": False,
    "user": {"name": "bob"},
    "src_endpoint": {"ip": "203.0.113.9", "port": 51000},
    "dst_endpoint": {"svc_name": "vpn"},
    "device": {"hostname": "gw1"},
}
PROCESS: dict[str, Any] = {"class_uid": 1007, "activity_id": 1, "time": 1709287200000, "status_id": 1}
SAMPLE = [json.dumps(event) for event in (LOGON, FAILED_VPN, PROCESS)]


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "events.ocsf.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(store: Store, path: Path, **options: object) -> ImportResult:
    return import_path(store, get_importer("ocsf"), path, ImportOptions(**options))  # type: ignore[arg-type]


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store.conn.execute(sql).fetchall()


def test_authentication_events_map_to_auth_events(store: Store, tmp_path: Path) -> None:
    """Epoch-millisecond and ISO times, status ids and strings, MFA, user, address, service and host are loaded."""
    result = _import(store, _write(tmp_path, *SAMPLE))
    rows = _rows(
        store, "SELECT time, user, outcome, mfa, src_ip, service, host, source FROM auth_events ORDER BY time"
    )
    assert rows == [
        (
            datetime(2024, 3, 1, 10, 0),
            "alice@example.com",
            "success",
            True,
            "198.51.100.7",
            "Okta Verify",
            "example.okta.com",
            "ocsf",
        ),
        (
            datetime(2024, 3, 1, 10, 0, 5, 250000),
            "bob",
            "failure",
            False,
            "203.0.113.9",
            "vpn",
            "gw1",
            "ocsf",
        ),
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_skipped, result.rows_rejected) == (3, 2, 1, 0)


def test_other_classes_are_skipped_naming_the_class(store: Store, tmp_path: Path) -> None:
    """A Process Activity event is counted as skipped, and the reason says which class it was."""
    _import(store, _write(tmp_path, *SAMPLE))
    assert _rows(store, "SELECT line, category, reason FROM rejected") == [
        (3, "skipped", "OCSF class 1007 is not Authentication (3002)")
    ]


def test_unusable_events_are_invalid_with_field_and_reason(store: Store, tmp_path: Path) -> None:
    """An unknown outcome, a missing class, a bad time or MFA flag and non-JSON lines are invalid rejects."""
    path = _write(
        tmp_path,
        SAMPLE[0],
        json.dumps({**LOGON, "status_id": 0, "status": "Unknown"}),
        json.dumps({k: v for k, v in LOGON.items() if k != "class_uid"}),
        json.dumps({**LOGON, "time": "yesterday"}),
        json.dumps({**LOGON, "is_mfa": "maybe"}),
        json.dumps({k: v for k, v in LOGON.items() if k not in {"status_id", "status"}}),
        "not json",
        "[3002]",
    )
    result = _import(store, path)
    assert (result.rows_loaded, result.rows_rejected) == (1, 7)
    rejected = _rows(store, "SELECT line, field, reason FROM rejected ORDER BY line")
    assert [(line, field) for line, field, _ in rejected] == [
        (2, "status_id"),
        (3, "class_uid"),
        (4, "time"),
        (5, "mfa"),
        (6, "status_id"),
        (7, None),
        (8, None),
    ]
    reasons = [str(reason) for _, _, reason in rejected]
    assert reasons[0] == "status_id 0 (Unknown) is neither 1 (Success) nor 2 (Failure)"
    assert "class_uid" in reasons[1]
    assert "yesterday" in reasons[2]
    assert "maybe" in reasons[3]
    assert reasons[4] == "no status_id or status: the outcome is unknown"
    assert reasons[5] == reasons[6] == "not a JSON object"


def test_time_dt_without_offset_is_local_to_the_time_zone(store: Store, tmp_path: Path) -> None:
    """An ISO time_dt without an offset is read in the import's time zone and stored in UTC."""
    event = {**FAILED_VPN, "time_dt": "2024-01-15T09:00:00"}
    _import(store, _write(tmp_path, json.dumps(event)), timezone="America/New_York")
    assert _rows(store, "SELECT strftime(time, '%H:%M') FROM auth_events") == [("14:00",)]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=400))
def test_random_bytes_never_crash(fuzz_store: Store, tmp_path: Path, data: bytes) -> None:
    """Random bytes given as OCSF are rejected with a reason or refused as a file, never a crash."""
    path = tmp_path / "fuzz.ndjson"
    path.write_bytes(data)
    check_survives(fuzz_store, "ocsf", path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from(SAMPLE),
    edits=st.lists(
        st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.integers(0, 600), st.characters()),
        max_size=6,
    ),
)
def test_mutated_events_never_crash(
    fuzz_store: Store, tmp_path: Path, base: str, edits: list[tuple[str, int, str]]
) -> None:
    """Real-looking OCSF events with characters replaced, inserted or deleted are loaded or rejected with a reason."""
    text = edit_text(base, edits)
    path = tmp_path / "fuzz.ndjson"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    check_survives(fuzz_store, "ocsf", path)
