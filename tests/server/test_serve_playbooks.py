"""`seclo serve` runs playbooks: Alertmanager webhooks on arrival, schedules (polled triggers) after each refresh."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from serve_helpers import http, start_serve, wait_for
from sink import running_sink

from seclo.playbooks import verify_chain
from seclo.store import open_store

JSON = {"Content-Type": "application/json"}

PAGE = """\
apiVersion: seclo/v1
kind: Playbook
metadata: {{name: page}}
spec:
  mode: automatic
  trigger: {{type: alertmanager, labels: {{alertname: Burn*}}}}
  steps:
    - {{name: page, type: http, url: '{url}/page', body: {{alert: '{{{{ trigger.fingerprint }}}}'}}}}
"""

WEEKLY = """\
apiVersion: seclo/v1
kind: Playbook
metadata: {{name: weekly}}
spec:
  mode: automatic
  trigger: {{type: schedule, every: 7d}}
  steps:
    - {{name: report, type: http, url: '{url}/weekly', body: {{slot: '{{{{ trigger.slot }}}}'}}}}
"""


def _payload(fingerprint: str, alertname: str) -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": alertname, "severity": "page"},
        "annotations": {},
        "startsAt": "2026-11-23T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": fingerprint,
    }
    document = {"version": "4", "groupKey": "{}", "status": "firing", "receiver": "seclo", "alerts": [alert]}
    return json.dumps(document).encode()


def test_serve_runs_webhook_and_scheduled_playbooks_once_and_audits_them(tmp_path: Path) -> None:
    """A matching webhook posts to the receiver once (redeliveries do not), a schedule fires after a refresh, and
    after a clean stop the store holds each run with an intact audit chain."""
    (tmp_path / "slos").mkdir()
    (tmp_path / "playbooks").mkdir()
    store_path = tmp_path / ".seclo" / "store.duckdb"
    open_store(store_path).close()
    with running_sink() as sink:
        url = f"http://127.0.0.1:{sink.port}"
        (tmp_path / "playbooks" / "page.yaml").write_text(PAGE.format(url=url), encoding="utf-8")
        (tmp_path / "playbooks" / "weekly.yaml").write_text(WEEKLY.format(url=url), encoding="utf-8")
        serve = start_serve(tmp_path, refresh="1s")
        try:
            status, _, _ = http(serve.url + "/alertmanager", _payload("fp-1", "BurnRateFast"), JSON)
            assert status == 200
            wait_for("the page step", lambda: sink.bodies("/page") or None)
            for body in (_payload("fp-1", "BurnRateFast"), _payload("fp-2", "DiskFull")):
                assert http(serve.url + "/alertmanager", body, JSON)[0] == 200
            wait_for("the scheduled step", lambda: sink.bodies("/weekly") or None)
        finally:
            serve.stop()
        pages = sink.bodies("/page")
        weekly = sink.bodies("/weekly")
    assert serve.process.returncode == 0, serve.log.read_text()
    assert pages == [{"alert": "fp-1"}]
    with open_store(store_path, read_only=True) as store:
        runs = store.conn.execute(
            "SELECT playbook, status, occurrence FROM playbook_runs ORDER BY playbook, occurrence"
        ).fetchall()
        check = verify_chain(store)
    assert runs[0] == ("page", "succeeded", "alertmanager:fp-1:2026-11-23T10:00:00Z:firing")
    # One run per weekly slot seen (one, unless the test ran across a slot boundary), each posted once.
    assert [(p, s) for p, s, _ in runs[1:]] == [("weekly", "succeeded")] * len(weekly)
    assert sorted(body["slot"] for body in weekly) == sorted(
        o.removeprefix("schedule:") for _, _, o in runs[1:]
    )
    assert check.ok
    verify = subprocess.run(
        [sys.executable, "-m", "seclo", "playbook", "verify-audit", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_webhook_arriving_while_the_playbooks_shut_down_gets_503(tmp_path: Path) -> None:
    """A webhook reaching serve after its playbook workers stopped is answered 503 (Alertmanager retries), not
    a 500 from a pool that no longer takes work."""
    from http_client import request  # noqa: PLC0415

    from seclo.server import serve  # noqa: PLC0415
    from seclo.workspace import Workspace  # noqa: PLC0415

    (tmp_path / "slos").mkdir()
    (tmp_path / "playbooks").mkdir()
    open_store(tmp_path / ".seclo" / "store.duckdb").close()
    (tmp_path / "playbooks" / "page.yaml").write_text(PAGE.format(url="http://127.0.0.1:9"), encoding="utf-8")
    server = serve(Workspace.open(tmp_path), "127.0.0.1", 0).start()
    try:
        assert server.playbooks is not None
        server.playbooks.close()  # what close() does first for the runs, while a request is still arriving
        answer = request(server.listener.port, "POST", "/alertmanager", _payload("fp-9", "Burn"), JSON)
    finally:
        server.close()
    assert (answer.status, answer.error()) == (503, "the server is shutting down; retry")


def test_an_unexpected_error_in_a_playbook_worker_is_logged_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When a playbook worker meets an error quoting a secret (in its message or its traceback's), serve's log
    shows the secret's placeholder, never the secret."""
    import logging  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from seclo.errors import InputError  # noqa: PLC0415
    from seclo.playbooks import load_playbooks  # noqa: PLC0415
    from seclo.server.playbooks import PlaybookService  # noqa: PLC0415
    from seclo.workspace import Workspace  # noqa: PLC0415

    secret = "pager-s3cr3t-value"  # noqa: S105 - a test secret
    monkeypatch.setenv("PAGER_TOKEN", secret)
    (tmp_path / "playbooks").mkdir()
    open_store(tmp_path / ".seclo" / "store.duckdb").close()
    text = PAGE.format(url="http://127.0.0.1:9").replace("  steps:", "  secrets: [PAGER_TOKEN]\n  steps:")
    (tmp_path / "playbooks" / "page.yaml").write_text(text, encoding="utf-8")
    ws = Workspace.open(tmp_path)
    service = PlaybookService(ws, threading.RLock(), load_playbooks(tmp_path / "playbooks"))

    def reach() -> None:
        raise OSError(f"cannot reach https://pager.example/?key={secret}")

    def unexpected() -> None:
        try:
            reach()
        except OSError as exc:
            raise RuntimeError(f"page failed with {secret}") from exc

    def expected() -> None:
        raise InputError(f"bad step text {secret}")

    try:
        with caplog.at_level(logging.WARNING, logger="seclo.server.playbooks"):
            service._guarded("a test", unexpected)
            service._guarded("a test", expected)
    finally:
        service.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "page failed with" in logged
    assert "bad step text" in logged
    assert secret not in logged
    assert "PAGER_TOKEN" in logged


def test_serve_answers_503_once_playbook_runs_cannot_be_audited(tmp_path: Path) -> None:
    """Once serve's playbook recorder has stopped (its audit table is gone), a webhook is still journaled but
    answered 503 naming the recorder, as `playbook listen` answers, so Alertmanager retries instead of the
    alert's playbooks being skipped behind a 200."""
    from datetime import timedelta  # noqa: PLC0415

    from http_client import request  # noqa: PLC0415

    from seclo.errors import StoreError  # noqa: PLC0415
    from seclo.server import serve  # noqa: PLC0415
    from seclo.workspace import Workspace  # noqa: PLC0415

    (tmp_path / "slos").mkdir()
    (tmp_path / "playbooks").mkdir()
    store_path = tmp_path / ".seclo" / "store.duckdb"
    open_store(store_path).close()
    (tmp_path / "playbooks" / "page.yaml").write_text(PAGE.format(url="http://127.0.0.1:9"), encoding="utf-8")
    server = serve(Workspace.open(tmp_path), "127.0.0.1", 0, timedelta(hours=1)).start()

    def break_audit() -> bool:
        with open_store(store_path) as store:
            store.conn.execute("ALTER TABLE playbook_audit RENAME TO playbook_audit_gone")
        return True

    port = server.listener.port
    try:
        assert server.playbooks is not None
        wait_for("the store between refreshes", break_audit)
        first = request(port, "POST", "/alertmanager", _payload("fp-1", "BurnRateFast"), JSON)
        wait_for("the recorder to stop", lambda: server.playbooks and server.playbooks.runner.refusal())
        second = request(port, "POST", "/alertmanager", _payload("fp-2", "BurnRateFast"), JSON)
    finally:
        with pytest.raises(StoreError, match="recorder"):  # and closing says the records were lost
            server.close()
    assert first.status == 200
    assert second.status == 503
    assert "recorder stopped" in second.error()
    assert len(server.inbox.journal.read_text().splitlines()) == 2


RETRIED = """\
apiVersion: seclo/v1
kind: Playbook
metadata: {{name: page}}
spec:
  mode: automatic
  trigger: {{type: alertmanager}}
  retry: {{attempts: 3, backoff: 200ms}}
  steps:
    - {{name: page, type: http, destructive: true, retries: 0, url: '{url}/page', body: {{alert: '{{{{ trigger.fingerprint }}}}'}}}}
"""


def test_serve_retries_a_failed_page_on_its_own_until_the_receiver_takes_it(tmp_path: Path) -> None:
    """The receiver answers 500 twice: serve retries the webhook's run after each backoff without a second
    webhook, the page arrives on attempt 3, and the store shows three audited attempts with an intact chain."""
    (tmp_path / "slos").mkdir()
    (tmp_path / "playbooks").mkdir()
    store_path = tmp_path / ".seclo" / "store.duckdb"
    open_store(store_path).close()
    with running_sink() as sink:
        sink.statuses.extend([500, 500])
        url = f"http://127.0.0.1:{sink.port}"
        (tmp_path / "playbooks" / "page.yaml").write_text(RETRIED.format(url=url), encoding="utf-8")
        serve = start_serve(tmp_path, refresh="1h")
        try:
            assert http(serve.url + "/alertmanager", _payload("fp-9", "BurnRateFast"), JSON)[0] == 200
            wait_for("attempt 3", lambda: len(sink.bodies("/page")) >= 3 or None)
        finally:
            serve.stop()
        pages = sink.bodies("/page")
    assert serve.process.returncode == 0, serve.log.read_text()
    assert pages == [{"alert": "fp-9"}] * 3
    with open_store(store_path, read_only=True) as store:
        runs = store.conn.execute(
            "SELECT status, idempotency_key FROM playbook_runs ORDER BY started_at"
        ).fetchall()
        decisions = store.conn.execute(
            "SELECT detail::JSON->>'decision' FROM playbook_audit WHERE event = 'decision' ORDER BY seq"
        ).fetchall()
    key = "page:alertmanager:fp-9:2026-11-23T10:00:00Z:firing"
    assert runs == [("failed", key), ("failed", key + "#2"), ("succeeded", key + "#3")]
    assert decisions == [("run",), ("retry",), ("retry",)]
    verify = subprocess.run(
        [sys.executable, "-m", "seclo", "playbook", "verify-audit", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
