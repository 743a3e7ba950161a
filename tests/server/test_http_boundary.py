"""What the HTTP boundary of `seclo serve` refuses, on the real server (uvicorn on 127.0.0.1) with a raw client.

Each refusal is a 4xx with a one-line JSON reason, nothing is journaled, and the server goes on answering.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from http_client import Answer, basic, bearer, post_json, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import read_store, wait_for

from seclo.server import SecloServer, serve
from seclo.server.auth import Credentials
from seclo.server.inbox import AlertInbox
from seclo.server.refresher import Refresher
from seclo.store import open_store
from seclo.workspace import Workspace

TOKEN = "t0ken-for-tests"  # noqa: S105 - a test secret
USER, PASSWORD = "alertmanager", "pa:ss word"
JSON = {"Content-Type": "application/json"}


def payload(fingerprint: str = "f1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A version 4 notification with one firing alert."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "Burn", "severity": "page", **(labels or {})},
        "annotations": {},
        "startsAt": "2026-11-23T09:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": fingerprint,
    }
    return {"version": "4", "groupKey": "{}", "status": "firing", "receiver": "seclo", "alerts": [alert]}


def _journal(server: SecloServer) -> list[str]:
    """The payloads journaled so far (one line each)."""
    path = server.inbox.journal
    return path.read_text().splitlines() if path.exists() else []


def _start(root: Path, credentials: Credentials | None) -> SecloServer:
    (root / "slos").mkdir(exist_ok=True)
    open_store(root / ".seclo" / "store.duckdb").close()
    return serve(Workspace.open(root), "127.0.0.1", 0, timedelta(hours=1), credentials=credentials).start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SecloServer]:
    """`seclo serve` on a free port of 127.0.0.1, asking for a bearer token or basic auth."""
    started = _start(tmp_path, Credentials(TOKEN.encode(), f"{USER}:{PASSWORD}".encode()))
    try:
        yield started
    finally:
        started.close()


def _port(server: SecloServer) -> int:
    return server.listener.port


def test_a_web_page_cannot_post_without_json_content_type(server: SecloServer) -> None:
    """text/plain and form posts (which browsers send without a CORS preflight) get 415 and are not journaled."""
    body = json.dumps(payload()).encode()
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        answer = request(
            _port(server), "POST", "/alertmanager", body, {"Content-Type": content_type, **bearer(TOKEN)}
        )
        assert answer.status == 415
        assert "application/json" in answer.error()
    answer = request(_port(server), "POST", "/alertmanager", body, bearer(TOKEN))
    assert answer.status == 415  # no Content-Type at all
    assert _journal(server) == []


def test_a_host_header_naming_another_server_is_refused(server: SecloServer) -> None:
    """DNS rebinding: a Host that is not this server gets 421 on every route; loopback names are answered."""
    port = _port(server)
    for path, method in (("/metrics", "GET"), ("/alertmanager", "POST")):
        body = json.dumps(payload()).encode() if method == "POST" else None
        answer = request(port, method, path, body, {**JSON, **bearer(TOKEN)}, host=f"attacker.example:{port}")
        assert answer.status == 421
        assert "attacker.example" in answer.error()
    assert request(port, "GET", "/metrics", host="").status == 400  # no Host header at all
    for name in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert request(port, "GET", "/metrics", host=name).status == 200
    assert _journal(server) == []


def test_posts_need_the_token_or_basic_auth_and_reads_on_loopback_do_not(server: SecloServer) -> None:
    """No, wrong or malformed credentials get 401 with both challenges; the right token or basic auth is accepted."""
    port = _port(server)
    for headers in (
        {},
        bearer("wrong"),
        bearer(TOKEN + "x"),
        basic(USER, "wrong"),
        basic("someone", PASSWORD),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": f"Token {TOKEN}"},
    ):
        answer = post_json(port, "/alertmanager", payload(), headers)
        assert answer.status == 401, headers
        assert "authentication required" in answer.error()
        assert answer.headers["www-authenticate"].splitlines() == [
            'Bearer realm="seclo"',
            'Basic realm="seclo", charset="UTF-8"',
        ]
    assert _journal(server) == []
    assert post_json(port, "/alertmanager", payload("a"), bearer(TOKEN)).status == 200
    assert post_json(port, "/alertmanager", payload("b"), basic(USER, PASSWORD)).status == 200
    assert len(_journal(server)) == 2
    assert request(port, "GET", "/metrics").status == 200  # scrapes on loopback need no credentials


def test_malformed_bodies_get_400_and_the_server_keeps_answering(server: SecloServer) -> None:
    """100,000 nested brackets, a lone surrogate label, bad UTF-8, NaN and broken JSON: 400 with the reason."""
    port = _port(server)
    cases = {
        b"[" * 100_000: "nested more than 32 levels",
        b"{" + b'"a":{' * 50_000: "nested",  # unterminated too: the depth is met first
        json.dumps(payload(labels={"team": "\ud800"})).encode(): "surrogate",
        b'{"alerts": "\xff\xfe"}': "not UTF-8",
        b'{"version": NaN}': "not JSON",
        b"{not json": "not JSON",
        b"": "not JSON",
    }
    for body, reason in cases.items():
        answer = request(port, "POST", "/alertmanager", body, {**JSON, **bearer(TOKEN)})
        assert (answer.status, reason in answer.error()) == (400, True), (body[:40], answer)
    assert _journal(server) == []
    assert post_json(port, "/alertmanager", payload(), bearer(TOKEN)).status == 200


def test_bodies_without_a_length_or_past_the_limit_are_refused(server: SecloServer) -> None:
    """No Content-Length or a chunked body gets 411; a body over 10 MiB gets 413 (a response, not a reset)."""
    port = _port(server)
    headers = {**JSON, **bearer(TOKEN)}
    body = json.dumps(payload()).encode()
    assert request(port, "POST", "/alertmanager", None, headers).status == 411
    # Without a length the bytes after the headers are the next request, which the HTTP parser refuses.
    assert request(port, "POST", "/alertmanager", body, headers, length=False).status in {400, 411}
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = request(
        port, "POST", "/alertmanager", chunked, {**headers, "Transfer-Encoding": "chunked"}, length=False
    )
    assert answer.status == 411
    assert "Content-Length" in answer.error()
    answer = request(port, "POST", "/alertmanager", b" " * (10 * 1024 * 1024 + 1), headers)
    assert answer.status == 413
    assert "over 10485760 bytes" in answer.error()
    assert _journal(server) == []


def test_an_authenticated_webhook_reaches_the_store(server: SecloServer) -> None:
    """A valid payload with the token is journaled, answered 200, and merged into incidents."""
    answer = post_json(_port(server), "/alertmanager", payload("stored"), bearer(TOKEN))
    assert (answer.status, json.loads(answer.body)) == (
        200,
        {"status": "accepted", "journaled": True, "alerts": 1},
    )
    store_path = server.refresher.workspace.store_path
    rows = wait_for(
        "the incident",
        lambda: (
            read_store(store_path, lambda s: s.conn.execute("SELECT incident_id FROM incidents").fetchall())
            or None
        ),
    )
    assert rows == [("alertmanager-stored-2026-11-23T09:00:00Z",)]


_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """Random bytes, random JSON (lone surrogates included), or a valid payload with a random label value."""
    kind = draw(st.sampled_from(["bytes", "json", "payload", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(_JSON)).encode()
    if kind == "deep":
        depth = draw(st.integers(1, 5000))
        return draw(st.sampled_from(["[", '{"a":'])).encode() * depth
    value = draw(_TEXT | st.text(string.printable, max_size=20))
    return json.dumps(
        payload(draw(st.text(string.ascii_letters, min_size=1, max_size=8)), {"x": value})
    ).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=_bodies(),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None]),
    auth=st.sampled_from([bearer(TOKEN), basic(USER, PASSWORD), bearer("nope"), {}]),
    path=st.sampled_from(["/alertmanager", "/", "/metrics", "/x"]),
)
def test_any_request_gets_an_answer_a_4xx_with_one_line_or_accepted(
    server: SecloServer, body: bytes, content_type: str | None, auth: dict[str, str], path: str
) -> None:
    """For any body, content type, credentials and path: 200, or a 4xx naming the problem on one line; never a
    dropped connection or a 500."""
    headers = {**auth, **({} if content_type is None else {"Content-Type": content_type})}
    answer: Answer = request(_port(server), "POST", path, body, headers)
    if answer.status == 200:
        assert json.loads(answer.body)["status"] == "accepted"
    else:
        assert 400 <= answer.status < 500, answer
        assert answer.error()
    assert request(_port(server), "GET", "/metrics").status == 200  # and it keeps answering


class _BrokenInbox(AlertInbox):
    """An inbox whose journal fails with an error nobody planned for (a bug, not a full disk)."""

    def accept(self, document: object, received_at: datetime | None = None) -> None:
        raise RuntimeError("a bug")


def test_an_unexpected_error_in_a_route_is_a_500_and_the_server_goes_on(tmp_path: Path) -> None:
    """A route that raises gets a one-line JSON 500 (logged by the server), and the next request is served."""
    inbox = _BrokenInbox(tmp_path / "inbox")
    refresher = Refresher(Workspace.open(tmp_path), timedelta(hours=1), inbox)
    server = SecloServer(("127.0.0.1", 0), refresher, inbox).start()
    try:
        port = server.listener.port
        answer = post_json(port, "/alertmanager", payload())
        assert answer.status == 500
        assert answer.error() == "internal error (logged by the server)"
        assert request(port, "GET", "/metrics").status == 200
        assert post_json(port, "/alertmanager", payload()).status == 500
    finally:
        server.close()
