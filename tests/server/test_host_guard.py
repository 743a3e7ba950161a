"""Ways around the Host and authentication checks, tried on the real `seclo serve` (uvicorn on 127.0.0.1).

Each request is sent raw, so the request line and every header are the test's choice.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from seclo.server import SecloServer, serve
from seclo.server.auth import Credentials
from seclo.store import open_store
from seclo.workspace import Workspace

TOKEN = b"t0ken-for-tests"
BODY = json.dumps(
    {"version": "4", "groupKey": "{}", "status": "firing", "receiver": "x", "alerts": []}
).encode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SecloServer]:
    """`seclo serve` on 127.0.0.1 asking for a bearer token."""
    (tmp_path / "slos").mkdir()
    open_store(tmp_path / ".seclo" / "store.duckdb").close()
    started = serve(
        Workspace.open(tmp_path), "127.0.0.1", 0, timedelta(hours=1), credentials=Credentials(TOKEN, None)
    ).start()
    try:
        yield started
    finally:
        started.close()


def _send(server: SecloServer, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send a raw request (`head` without its final blank line) and return the status and body."""
    with socket.create_connection(("127.0.0.1", server.listener.port), timeout=60) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def _webhook(target: bytes, host_lines: bytes) -> bytes:
    return (
        b"POST " + target + b" HTTP/1.1\r\n" + host_lines + b"Authorization: Bearer " + TOKEN + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(BODY)
    )


def test_an_absolute_form_target_naming_another_host_is_refused(server: SecloServer) -> None:
    """`POST http://evil.example/alertmanager` is answered for evil.example (421), whatever the Host header says,
    as RFC 9112 makes the target's authority the request's host; nothing is journaled."""
    status, body = _send(server, _webhook(b"http://evil.example/alertmanager", b"Host: 127.0.0.1\r\n"), BODY)
    assert status == 421, body
    assert b"evil.example" in body
    assert not server.inbox.journal.exists()


def test_an_absolute_form_target_naming_this_server_is_answered(server: SecloServer) -> None:
    """An absolute-form target naming 127.0.0.1 (as a proxy sends it) reaches the webhook."""
    target = b"http://127.0.0.1:%d/alertmanager" % server.listener.port
    status, body = _send(server, _webhook(target, b"Host: 127.0.0.1\r\n"), BODY)
    assert status == 200, body


@pytest.mark.parametrize(
    "hosts", [b"Host: 127.0.0.1\r\nHost: evil.example\r\n", b"Host: evil.example\r\nHost: 127.0.0.1\r\n"]
)
def test_two_host_headers_are_refused(server: SecloServer, hosts: bytes) -> None:
    """A request with two Host headers gets 400 (RFC 9112), whichever comes first: a proxy may read the other."""
    status, body = _send(server, _webhook(b"/alertmanager", hosts), BODY)
    assert (status, json.loads(body)) == (400, {"error": "more than one Host header"})


@pytest.mark.parametrize(
    "host",
    [b"127.0.0.1:x@evil.example", b"127.0.0.1:evil.example", b"[::1]evil.example", b"localhost:99999999"],
)
def test_a_host_whose_port_is_not_a_port_is_refused(server: SecloServer, host: bytes) -> None:
    """`Host: 127.0.0.1:x@evil.example` and other names with junk after ours get 421, not the webhook."""
    status, _ = _send(server, _webhook(b"/alertmanager", b"Host: " + host + b"\r\n"), BODY)
    assert status == 421


def test_a_refused_path_cannot_forge_a_log_line(
    server: SecloServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 401 is logged on one line even when the path holds a percent-encoded line break."""
    head = b"POST /alert%0A2026-12-07%20INFO%20forged HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with caplog.at_level(logging.WARNING, logger="seclo.server.guard"):
        status, _ = _send(server, head + b"Content-Type: application/json\r\nContent-Length: 2\r\n", b"{}")
    assert status == 401
    [record] = [r for r in caplog.records if "no valid credentials" in r.getMessage()]
    assert "\n" not in record.getMessage()


def test_a_token_guesser_cannot_flood_the_log(server: SecloServer, caplog: pytest.LogCaptureFixture) -> None:
    """200 requests with wrong tokens all get 401 but leave one log line per 10 s, not 200."""
    head = _webhook(b"/alertmanager", b"Host: 127.0.0.1\r\n").replace(TOKEN, b"guess")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="seclo.server.guard"):
        statuses = {_send(server, head, BODY)[0] for _ in range(200)}
    windows = 1 + int((time.monotonic() - started) // 10)  # however slow the machine, lines <= windows
    assert statuses == {401}
    lines = [r.getMessage() for r in caplog.records if "no valid credentials" in r.getMessage()]
    assert 1 <= len(lines) <= windows < 200


def test_malformed_requests_cannot_flood_the_log(
    server: SecloServer, caplog: pytest.LogCaptureFixture
) -> None:
    """200 requests that are not HTTP all get 400 but leave one "Invalid HTTP request" line per 10 s."""
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        statuses = {_send(server, b"NOT HTTP AT ALL\r\n")[0] for _ in range(200)}
    windows = 1 + int((time.monotonic() - started) // 10)
    assert statuses == {400}
    lines = [r.getMessage() for r in caplog.records if "Invalid HTTP request" in r.getMessage()]
    assert 1 <= len(lines) <= windows < 200
