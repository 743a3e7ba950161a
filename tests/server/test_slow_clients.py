"""Slow clients (slowloris) against the real `seclo serve` on 127.0.0.1: they are cut off, /metrics keeps answering.

Each test opens a bounded number of sockets and waits at most a generous overall deadline for the server to
close them; the deadlines the server applies are set to one second so the tests stay short.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from http_client import request
from serve_helpers import DEADLINE

from seclo.server import SecloServer, serve
from seclo.server.slow_clients import ConnectionLimits
from seclo.store import open_store
from seclo.workspace import Workspace

SLOW = 200  # slow connections per test


def _start(root: Path, limits: ConnectionLimits) -> SecloServer:
    (root / "slos").mkdir(exist_ok=True)
    open_store(root / ".seclo" / "store.duckdb").close()
    return serve(Workspace.open(root), "127.0.0.1", 0, timedelta(hours=1), limits=limits).start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SecloServer]:
    """`seclo serve` giving clients one second for the headers and one for the body."""
    started = _start(tmp_path, ConnectionLimits(header_timeout=1.0, body_timeout=1.0))
    try:
        yield started
    finally:
        started.close()


def _connect(port: int, first: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    sock.sendall(first)
    return sock


def _answer_then_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails if it never does)."""
    chunks = []
    while chunk := sock.recv(4096):  # the socket timeout (DEADLINE) fails a connection left open
        chunks.append(chunk)
    return b"".join(chunks)


def test_headers_sent_byte_by_byte_are_cut_off_and_metrics_still_answers(server: SecloServer) -> None:
    """200 connections that never finish their headers get 408 and are closed, while /metrics answers 200."""
    port = server.listener.port
    slow = [_connect(port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") for _ in range(SLOW)]
    try:
        for sock in slow:
            sock.sendall(b"a")
        assert request(port, "GET", "/metrics").status == 200
        answers = [_answer_then_closed(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[0]
    assert request(port, "GET", "/metrics").status == 200


def test_a_body_sent_byte_by_byte_is_cut_off_and_nothing_is_journaled(server: SecloServer) -> None:
    """A webhook whose body trickles in is dropped once its deadline passes; the journal stays empty."""
    port = server.listener.port
    head = (
        b"POST /alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    slow = [_connect(port, head) for _ in range(SLOW)]
    try:
        assert request(port, "GET", "/metrics").status == 200
        answers = [_answer_then_closed(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()
    assert answers == [b""] * SLOW
    assert not server.inbox.journal.exists() or server.inbox.journal.read_text() == ""


def test_a_connection_that_sends_nothing_is_closed(server: SecloServer) -> None:
    """A client that connects and stays silent is answered 408 and disconnected, not held open for good."""
    sock = _connect(server.listener.port, b"")
    try:
        assert _answer_then_closed(sock).startswith(b"HTTP/1.1 408 ")
    finally:
        sock.close()


def test_past_the_connection_limit_requests_get_503(tmp_path: Path) -> None:
    """With more open connections than the limit, a request is answered 503 at once rather than queued."""
    started = _start(tmp_path, ConnectionLimits(header_timeout=60.0, max_connections=20))
    idle = [_connect(started.listener.port, b"") for _ in range(20)]
    try:
        assert request(started.listener.port, "GET", "/metrics").status == 503
    finally:
        for sock in idle:
            sock.close()
        started.close()


def test_a_slow_route_is_not_cut_off_by_the_deadlines(server: SecloServer) -> None:
    """The deadlines bound the client's sending only: a complete request is answered however long it waits."""
    port = server.listener.port
    sock = _connect(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    try:
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 ")
        # The kept-alive connection idles past both deadlines, then sends a second request that is answered.
        sock.settimeout(3.0)
        with pytest.raises(TimeoutError):
            sock.recv(1)
        sock.settimeout(DEADLINE)
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert _answer_then_closed(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        sock.close()


@pytest.mark.parametrize(
    "headers", [b"X-Big: " + b"a" * 1_000_000 + b"\r\n", b"X: a\r\n" * 100_000], ids=["one-big", "many"]
)
def test_headers_past_64_kib_are_refused(server: SecloServer, headers: bytes) -> None:
    """A request whose headers pass 64 KiB (one huge header or a hundred thousand small ones) gets 400 and its
    connection closed (a reset when the client is still sending), instead of being held in memory; the server
    answers the next request."""
    port = server.listener.port
    sock = _connect(port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused before the end was sent
            sock.sendall(headers + b"\r\n")
        try:
            answer = _answer_then_closed(sock)
        except ConnectionResetError:
            answer = b"reset"
    finally:
        sock.close()
    assert answer == b"reset" or answer.startswith(b"HTTP/1.1 400 "), answer[:100]
    assert request(port, "GET", "/metrics").status == 200


def test_headers_under_the_limit_are_answered(server: SecloServer) -> None:
    """Sixty 1 KB headers (60 KB in all) are within the limit: the scrape is answered 200."""
    headers = {f"X-Pad-{i}": "a" * 1000 for i in range(60)}
    assert request(server.listener.port, "GET", "/metrics", headers=headers).status == 200
