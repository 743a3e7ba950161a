"""`seclo playbook listen`'s receiver refuses what `seclo serve` refuses: same application, same guard."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from http_client import basic, bearer, post_json, request

from seclo.playbooks.receiver import AlertmanagerReceiver
from seclo.playbooks.redaction import Redactor
from seclo.server.auth import Credentials

TOKEN = "listen-token"  # noqa: S105 - a test secret
SECRET = "hook-s3cr3t-value"  # noqa: S105 - a playbook's secret in these tests


class Recorder:
    """A WebhookHandler that keeps the payloads it is handed."""

    def __init__(self) -> None:
        self.redactor = Redactor.of({"HOOK_TOKEN": SECRET})
        self.lock = threading.Lock()
        self.payloads: list[Any] = []

    def handle_alertmanager(self, payload: Any, *, dry_run: bool = False) -> Any:
        with self.lock:
            self.payloads.append(payload)
        if payload["alerts"][0]["labels"].get("team") == "raise":
            raise RuntimeError(f"the step quoted {SECRET}")

    def refusal(self) -> str | None:
        return None


def _payload(fingerprint: str = "f1", value: str = "x") -> dict[str, Any]:
    alert = {"status": "firing", "labels": {"alertname": "Burn", "team": value}, "fingerprint": fingerprint}
    return {"version": "4", "status": "firing", "receiver": "seclo", "alerts": [alert]}


@pytest.fixture
def listener() -> Iterator[tuple[AlertmanagerReceiver, Recorder]]:
    """The receiver on a free port of 127.0.0.1 asking for a bearer token, with a recording runner."""
    recorder = Recorder()
    receiver = AlertmanagerReceiver(recorder, credentials=Credentials(token=TOKEN.encode())).start()
    try:
        yield receiver, recorder
    finally:
        receiver.close()


def test_listen_refuses_non_json_other_hosts_and_missing_credentials(
    listener: tuple[AlertmanagerReceiver, Recorder],
) -> None:
    """text/plain 415, a foreign Host 421, no or wrong token 401, deep or surrogate JSON 400: no run starts."""
    receiver, recorder = listener
    port = receiver.port
    body = json.dumps(_payload()).encode()
    auth = bearer(TOKEN)
    assert request(port, "POST", "/", body, {"Content-Type": "text/plain", **auth}).status == 415
    form = {"Content-Type": "application/x-www-form-urlencoded", **auth}
    assert request(port, "POST", "/", body, form).status == 415
    json_type = {"Content-Type": "application/json", **auth}
    assert request(port, "POST", "/", body, json_type, host="rebound.example").status == 421
    assert post_json(port, "/", _payload()).status == 401
    assert post_json(port, "/", _payload(), basic("any", "thing")).status == 401
    assert request(port, "POST", "/", b"[" * 100_000, json_type).status == 400
    surrogate = post_json(port, "/", _payload(value="\ud800"), auth)
    assert (surrogate.status, "surrogate" in surrogate.error()) == (400, True)
    assert request(port, "GET", "/").status == 405
    assert recorder.payloads == []


def test_listen_runs_an_authenticated_webhook(listener: tuple[AlertmanagerReceiver, Recorder]) -> None:
    """With the token, POST / and POST /alertmanager are answered 202 and their payloads reach the runner."""
    receiver, recorder = listener
    first = post_json(receiver.port, "/", _payload("a"), bearer(TOKEN))
    second = post_json(receiver.port, "/alertmanager", _payload("b"), bearer(TOKEN))
    assert (first.status, json.loads(first.body)) == (202, {"accepted": 1})
    assert second.status == 202
    deadline = time.monotonic() + 60
    while len(recorder.payloads) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(p["alerts"][0]["fingerprint"] for p in recorder.payloads) == ["a", "b"]


def test_a_failed_run_is_logged_without_its_secret(
    listener: tuple[AlertmanagerReceiver, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    """A run that raises with a secret in its message is logged (listen's log is a file) with the secret's
    placeholder, and the receiver goes on taking webhooks."""
    import logging  # noqa: PLC0415

    receiver, recorder = listener
    with caplog.at_level(logging.ERROR, logger="seclo.playbooks.receiver"):
        assert post_json(receiver.port, "/", _payload("a", value="raise"), bearer(TOKEN)).status == 202
        assert post_json(receiver.port, "/", _payload("b"), bearer(TOKEN)).status == 202
        receiver.close()  # waits for the runs
    assert [p["alerts"][0]["fingerprint"] for p in recorder.payloads] == ["a", "b"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "the step quoted [secret HOOK_TOKEN]" in logged
    assert SECRET not in logged
