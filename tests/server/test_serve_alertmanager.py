"""POST /alertmanager on a running `seclo serve`: alerts become incidents, bad payloads get 400, none is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from serve_helpers import http, read_store, start_serve, wait_for

from seclo.store import Store, open_store


def _payload(status: str = "firing", fingerprint: str = "5f3a1b2c9d8e7f60") -> dict[str, Any]:
    """What Alertmanager 0.25 sends for one SLO burn-rate alert (webhook_config, version 4)."""
    ends = "2026-11-23T09:45:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"
    return {
        "receiver": "seclo",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": "SecloSLOBurnRatePage",
                    "severity": "page",
                    "slo": "login-success",
                    "service": "identity",
                    "objective": "0",
                },
                "annotations": {"summary": "login-success is burning its error budget 14.4x too fast"},
                "startsAt": "2026-11-23T09:12:30.123Z",
                "endsAt": ends,
                "generatorURL": "http://prometheus:9090/graph?g0.expr=slo%3Aerror_ratio%3Arate1h",
                "fingerprint": fingerprint,
            }
        ],
        "groupLabels": {"alertname": "SecloSLOBurnRatePage"},
        "commonLabels": {"alertname": "SecloSLOBurnRatePage", "severity": "page"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="SecloSLOBurnRatePage"}',
        "truncatedAlerts": 0,
    }


def _post(url: str, document: object) -> tuple[int, dict[str, Any]]:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    status, _, answer = http(url + "/alertmanager", body, {"Content-Type": "application/json"})
    return status, json.loads(answer)


def _incidents(store: Store) -> list[tuple[Any, ...]]:
    return store.conn.execute(
        "SELECT incident_id, kind, severity, service, occurred_at, detected_at, resolved_at, title "
        "FROM incidents ORDER BY incident_id"
    ).fetchall()


def _alerts(store: Store) -> list[tuple[Any, ...]]:
    return store.conn.execute(
        "SELECT fingerprint, starts_at, ends_at, status, slo FROM alert_events ORDER BY fingerprint"
    ).fetchall()


def _merged(workspace: Path) -> bool:
    """The inbox journal is merged up to its end."""
    inbox = workspace / ".seclo" / "inbox"
    cursor = inbox / "alertmanager.offset"
    offset = cursor.read_text().split()[0] if cursor.exists() else ""
    return offset.isdigit() and int(offset) == (inbox / "alertmanager.ndjson").stat().st_size


def _workspace(tmp_path: Path) -> Path:
    (tmp_path / "slos").mkdir()
    open_store(tmp_path / ".seclo" / "store.duckdb").close()
    return tmp_path


def test_firing_then_resolved_alert_is_one_incident_and_redelivery_adds_nothing(tmp_path: Path) -> None:
    """A firing alert is an incident detected at startsAt; the resolved one sets resolved_at; resending adds nothing."""
    workspace = _workspace(tmp_path)
    store_path = workspace / ".seclo" / "store.duckdb"
    serve = start_serve(workspace)
    try:
        assert _post(serve.url, _payload()) == (200, {"status": "accepted", "journaled": True, "alerts": 1})
        incidents = wait_for("the incident", lambda: read_store(store_path, _incidents) or None)
        started = datetime(2026, 11, 23, 9, 12, 30, 123000)
        assert incidents == [
            (
                "alertmanager-5f3a1b2c9d8e7f60-2026-11-23T09:12:30.123000Z",
                "security",
                "high",
                "identity",
                started,
                started,
                None,
                "login-success is burning its error budget 14.4x too fast",
            )
        ]
        for _ in range(3):  # Alertmanager repeats a notification until it is resolved
            assert _post(serve.url, _payload())[0] == 200
        assert _post(serve.url, _payload("resolved"))[0] == 200
        assert _post(serve.url, _payload())[0] == 200  # a late firing redelivery does not reopen it
        wait_for("the journal to be merged", lambda: _merged(workspace))
        incidents = read_store(store_path, _incidents)
        alerts = read_store(store_path, _alerts)
    finally:
        serve.stop()
    resolved = datetime(2026, 11, 23, 9, 45)
    assert [row[6] for row in incidents] == [resolved]
    assert alerts == [("5f3a1b2c9d8e7f60", started, resolved, "resolved", "login-success")]
    lines = (workspace / ".seclo" / "inbox" / "alertmanager.ndjson").read_text().splitlines()
    assert len(lines) == 6  # every accepted payload is journaled, duplicates included


def test_malformed_payloads_are_refused_with_the_reason(tmp_path: Path) -> None:
    """Not JSON, the wrong version or a missing field: 400 and a reason; nothing is journaled."""
    workspace = _workspace(tmp_path)
    serve = start_serve(workspace)
    try:
        status, answer = _post(serve.url, b"{not json")
        assert (status, "not JSON" in answer["error"]) == (400, True)
        status, answer = _post(serve.url, _payload() | {"version": "3"})
        assert status == 400
        assert "version" in answer["error"]
        broken = _payload()
        del broken["alerts"][0]["fingerprint"]
        status, answer = _post(serve.url, broken)
        assert status == 400
        assert "alerts.0.fingerprint: Field required" in answer["error"]
        status, answer = _post(serve.url, _payload() | {"alerts": [{"status": "on fire"}]})
        assert status == 400
        assert "alerts.0.status" in answer["error"]
        assert http(serve.url + "/nowhere")[0] == 404
    finally:
        serve.stop()
    assert not (workspace / ".seclo" / "inbox" / "alertmanager.ndjson").exists()


_HOLD_LOCK = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.readline()
conn.close()
"""


def test_payload_accepted_while_the_store_is_locked_is_merged_after_a_restart(tmp_path: Path) -> None:
    """The store is locked by another process; the payload is journaled, serve restarts, then it lands."""
    workspace = _workspace(tmp_path)
    store_path = workspace / ".seclo" / "store.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(store_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        serve = start_serve(workspace)
        try:
            assert _post(serve.url, _payload(fingerprint="aa11"))[0] == 200
        finally:
            serve.stop()
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert read_store(store_path, _alerts) == []  # it could not be merged while the store was locked
    assert not _merged(workspace)
    serve = start_serve(workspace)
    try:
        alerts = wait_for("the journaled alert", lambda: read_store(store_path, _alerts) or None)
    finally:
        serve.stop()
    assert [a[0] for a in alerts] == ["aa11"]


def _metric(url: str, name: str) -> float | None:
    """The value of one unlabelled series of /metrics."""
    for line in http(url + "/metrics")[2].decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def _rejected(store: Store) -> list[tuple[Any, ...]]:
    return store.conn.execute(
        "SELECT kind, line, field, reason, raw FROM rejected ORDER BY line, field"
    ).fetchall()


def test_an_alert_from_before_year_1_in_utc_is_rejected_and_serve_goes_on(tmp_path: Path) -> None:
    """startsAt 0001-01-01T00:30:00+01:00 is recorded as rejected; its neighbours and later alerts still land."""
    workspace = _workspace(tmp_path)
    store_path = workspace / ".seclo" / "store.duckdb"
    early = _payload(fingerprint="early")
    early["alerts"][0]["startsAt"] = "0001-01-01T00:30:00+01:00"
    late = _payload("resolved", fingerprint="late")
    late["alerts"][0]["endsAt"] = "9999-12-31T23:30:00-01:00"
    mixed = _payload(fingerprint="good1")
    mixed["alerts"] = early["alerts"] + mixed["alerts"] + late["alerts"]
    serve = start_serve(workspace)
    try:
        assert _post(serve.url, mixed) == (200, {"status": "accepted", "journaled": True, "alerts": 3})
        wait_for("the journal to be merged", lambda: _merged(workspace), deadline=30)
        assert _post(serve.url, _payload(fingerprint="good2"))[0] == 200
        alerts = wait_for("both good alerts", lambda: len(read_store(store_path, _alerts)) == 2 or None, 30)
        rejected = read_store(store_path, _rejected)
        refreshed = wait_for(
            "a refresh", lambda: _metric(serve.url, "seclo_exporter_last_refresh_timestamp_seconds")
        )
        later = wait_for(
            "a later refresh",
            lambda: (_metric(serve.url, "seclo_exporter_last_refresh_timestamp_seconds") or 0) > refreshed,
            30,
        )
        assert later
        assert _metric(serve.url, "seclo_inbox_rejected_total") == 2
        assert _metric(serve.url, "seclo_exporter_refresh_errors_total") == 0
        assert serve.process.poll() is None
    finally:
        serve.stop()
    assert alerts is True
    assert [a[0] for a in read_store(store_path, _alerts)] == ["good1", "good2"]
    assert [(r[0], r[1], r[2]) for r in rejected] == [
        ("alertmanager", 1, "alerts.0.startsAt"),
        ("alertmanager", 1, "alerts.2.endsAt"),
    ]
    assert "outside years 1 to 9999" in rejected[0][3]
    assert json.loads(rejected[0][4])["fingerprint"] == "early"
    serve = start_serve(workspace)  # a restart does not replay the rejected line, nor die on it
    try:
        assert _post(serve.url, _payload(fingerprint="good3"))[0] == 200
        wait_for("the third alert", lambda: len(read_store(store_path, _alerts)) == 3 or None, 30)
        assert _metric(serve.url, "seclo_inbox_rejected_total") == 0
        assert serve.process.poll() is None
    finally:
        serve.stop()
    assert len(read_store(store_path, _rejected)) == 2
