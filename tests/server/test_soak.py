"""A soak of a real `seclo serve`: valid and hostile webhooks interleaved with scrapes, from several threads.

At the end every alert of an acknowledged webhook is in the store exactly once, each hostile alert that was
acknowledged is in `rejected`, /metrics still refreshes, and the process and its threads are alive.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import http, read_store, start_serve, wait_for

from seclo.store import Store, open_store

VALID = 240  # webhooks of two distinct alerts each
HEADERS = {"Content-Type": "application/json"}
NOTE = "x" * 1000  # a long description: the journal passes its compaction threshold within the soak


def _alert(fingerprint: str, **changes: Any) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": "SecloSLOBurnRatePage", "severity": "page", "service": "identity"},
        "annotations": {"summary": "burning", "description": NOTE},
        "startsAt": "2026-11-23T09:12:30.123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    } | changes


def _payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "status": "firing",
        "receiver": "seclo",
        "truncatedAlerts": 0,
        "alerts": list(alerts),
    }


def _body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


# Each hostile body, and the fingerprints of its alerts that must be rejected if the webhook is acknowledged
# (its other alerts, if any, are valid and must land like any other).
def _hostile(i: int) -> tuple[bytes, list[str], list[str]]:
    kind = i % 6
    if kind == 0:  # a start before year 1 once converted to UTC
        early = _alert(f"h{i}early", startsAt="0001-01-01T00:30:00+01:00")
        return _body(_payload(early, _alert(f"h{i}ok"))), [f"h{i}early"], [f"h{i}ok"]
    if kind == 1:  # a lone surrogate in a label: valid JSON, not Unicode text
        text = _body(_payload(_alert(f"h{i}sur"), _alert(f"h{i}ok"))).replace(b'"identity"', b'"\\ud800"', 1)
        return text, [f"h{i}sur"], [f"h{i}ok"]
    if kind == 2:  # huge numbers
        text = _body(_payload(_alert(f"h{i}num"))).replace(
            b'"truncatedAlerts": 0', b'"truncatedAlerts": 1e400'
        )
        return text.replace(b'"2026-11-23T09:12:30.123Z"', b"1e30"), [], []
    if kind == 3:  # broken JSON
        return _body(_payload(_alert(f"h{i}cut")))[:-20], [], []
    if kind == 4:  # wrong types
        return _body(_payload(_alert(f"h{i}type") | {"labels": ["a"], "fingerprint": 7})), [], []
    late = _alert(f"h{i}late", status="resolved", endsAt="9999-12-31T23:30:00-01:00")  # an end after 9999
    return _body(_payload(late)), [f"h{i}late"], []


def _metric(body: bytes, name: str) -> float | None:
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def _counts(store: Store) -> tuple[dict[str, int], set[str]]:
    alerts = dict(store.conn.execute("SELECT fingerprint, count(*) FROM alert_events GROUP BY 1").fetchall())
    raws = store.conn.execute("SELECT raw FROM rejected WHERE kind = 'alertmanager'").fetchall()
    rejected = {str(json.loads(raw)["fingerprint"]) for (raw,) in raws if raw.startswith("{")}
    return alerts, rejected


class _Stream:
    """Webhooks sent from a pool of threads and scrapes from two more, with what each got."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.expected: set[str] = set()  # alerts of acknowledged webhooks that must be stored
        self.must_reject: set[str] = set()  # alerts of acknowledged webhooks that must be in `rejected`
        self.refused: list[int] = []
        self.scrapes: list[tuple[int, float | None]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()

    def send(self, i: int) -> None:
        if i % 5 == 4:
            body, bad, good = _hostile(i)
        else:
            body, bad, good = _body(_payload(_alert(f"v{i}a"), _alert(f"v{i}b"))), [], [f"v{i}a", f"v{i}b"]
        status = http(self.url + "/alertmanager", body, HEADERS)[0]
        with self._lock:
            if 200 <= status < 300:
                self.expected.update(good)
                self.must_reject.update(bad)
            else:
                assert 400 <= status < 500, status  # refused with a client error, or accepted: never a 5xx
                self.refused.append(i)

    def _scrape(self) -> None:
        # Scrape until the webhooks are sent and /metrics was seen to change (a refresh landed meanwhile), or
        # for a minute at most: on a loaded machine the first refresh may come only after the stream.
        end = time.monotonic() + 60
        while time.monotonic() < end:
            status, _, body = http(self.url + "/metrics")
            with self._lock:
                self.scrapes.append((status, _metric(body, REFRESHED)))
                changed = len({value for _, value in self.scrapes}) >= 2
            if self._done.is_set() and changed:
                return
            time.sleep(0.05)

    def run(self, webhooks: int) -> None:
        scrapers = [threading.Thread(target=self._scrape) for _ in range(2)]
        for thread in scrapers:
            thread.start()
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(self.send, range(webhooks)))
        finally:
            self._done.set()
            for thread in scrapers:
                thread.join()


REFRESHED = "seclo_exporter_last_refresh_timestamp_seconds"


@pytest.mark.slow
def test_serve_survives_a_stream_of_valid_and_hostile_webhooks(tmp_path: Path) -> None:
    """Hundreds of webhooks, a fifth hostile, with scrapes: no acknowledged alert lost or doubled, serve alive."""
    (tmp_path / "slos").mkdir()
    open_store(tmp_path / ".seclo" / "store.duckdb").close()
    serve = start_serve(tmp_path, refresh="1s")
    stream = _Stream(serve.url)
    try:
        stream.run(VALID + VALID // 4)
        sent = time.time()

        def settled() -> tuple[dict[str, int], set[str]] | None:
            counts = read_store(tmp_path / ".seclo" / "store.duckdb", _counts)
            return counts if stream.expected <= set(counts[0]) and stream.must_reject <= counts[1] else None

        def refreshed_since() -> bool:
            return (_metric(http(serve.url + "/metrics")[2], REFRESHED) or 0) > sent

        alerts, rejected = wait_for("every acknowledged alert in the store", settled, deadline=60)
        assert wait_for("a refresh after the stream", refreshed_since, deadline=30)

        def counted() -> bytes | None:
            body = http(serve.url + "/metrics")[2]
            return body if _metric(body, "seclo_inbox_rejected_total") == len(rejected) else None

        metrics = wait_for("the rejected alerts counted in /metrics", counted, deadline=30)
        assert serve.process.poll() is None
    finally:
        serve.stop()
    assert len(stream.expected) >= 2 * VALID
    assert set(alerts) == stream.expected  # nothing lost, nothing of a hostile alert merged
    assert set(alerts.values()) == {1}  # each once
    assert stream.must_reject  # the year-1 and year-9999 alerts are accepted, then rejected at the merge
    assert rejected == stream.must_reject
    assert _metric(metrics, "seclo_exporter_refresh_errors_total") == 0
    assert stream.refused  # broken JSON, wrong types and huge numbers were refused
    assert all(status == 200 for status, _ in stream.scrapes)
    assert len({value for _, value in stream.scrapes}) >= 2  # the scrapers saw /metrics refresh
    journal = tmp_path / ".seclo" / "inbox" / "alertmanager.ndjson"
    assert json.loads(journal.read_bytes().splitlines()[0])["generation"] >= 1  # compacted as it grew
    log = serve.log.read_text()
    assert "Exception in thread" not in log
    assert "Traceback" not in log
