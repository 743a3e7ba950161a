"""The one place where seclo's HTTP server refuses requests, before any route sees them (ASGI middleware).

In order, each refusal a one-line JSON body `{"error": "..."}`:

- 400 without a Host header, 421 when it names another server (`AccessPolicy.host_allowed`: DNS rebinding);
- 401 with `WWW-Authenticate` when the request needs credentials and has none or wrong ones;
- on POST: 415 unless `Content-Type: application/json` (a web page can send text/plain or a form without a
  CORS preflight, never JSON), 411 without a Content-Length (chunked bodies included), 413 past the limit;
- 400 when the body is not UTF-8, not strict JSON (NaN and Infinity are not JSON), nested deeper than
  `MAX_DEPTH`, or holds text that cannot be encoded (a lone surrogate escape such as `"\\ud800"` is valid JSON
  but no UTF-8 file, log or store can hold it).

A POST that passes reaches the route with its body read and parsed: `request.state.json` is a `JsonBody`, and
`request.state.arrived` the time.perf_counter() of its arrival (before the checks).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seclo.server.auth import AccessPolicy

__all__ = ["MAX_DEPTH", "Guard", "JsonBody", "Refusal", "error_body", "parse_json"]

log = logging.getLogger(__name__)

# An Alertmanager payload is 4 levels deep; 32 leaves room for any JSON a webhook sender means.
MAX_DEPTH = 32
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_INLINE = 64 * 1024  # bodies up to this size are parsed on the event loop, larger ones on a worker thread
_DRAINED = 4  # a refused body up to this many times the limit is read and dropped, not cut off
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Refusal(Exception):  # noqa: N818 - it is the answer, not a failure of seclo
    """A request refused with an HTTP status and a one-line reason."""

    def __init__(
        self,
        status: int,
        reason: str,
        headers: list[tuple[bytes, bytes]] | None = None,
        *,
        close: bool = False,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or []
        self.close = close


@dataclass(frozen=True, slots=True)
class JsonBody:
    """A POST body that passed the checks: its bytes and the JSON document they hold."""

    raw: bytes
    document: object


def error_body(reason: str) -> bytes:
    """`{"error": reason}` on one line (line breaks in the reason become spaces; at most 500 characters)."""
    line = " ".join(reason.split())[:500]
    return json.dumps({"error": line}).encode() + b"\n"


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _too_deep(document: object, limit: int) -> bool:
    """True when containers nest deeper than `limit` (iteratively: the check itself must not recurse)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(body: bytes, max_depth: int = MAX_DEPTH) -> object:
    """The JSON document of a request body.

    Raises:
        Refusal: 400, naming what is wrong with the body.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(400, f"the body is not UTF-8 text (byte {exc.start})") from None
    too_deep = Refusal(400, f"the body is not accepted: JSON nested more than {max_depth} levels deep")
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:
        raise Refusal(400, f"the body is not JSON: {exc}") from None
    if body.count(b"[") + body.count(b"{") > max_depth and _too_deep(document, max_depth):
        raise too_deep
    try:
        # Strict UTF-8 text holds no surrogate, so one can only come from a \uD800-\uDFFF escape: look closer
        # only when the body has such an escape.
        if _SURROGATE_ESCAPE.search(body):
            json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Refusal(
            400,
            "the body is not accepted: it holds a lone UTF-16 surrogate escape (such as \\ud800), not text",
        ) from None
    return document


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class _RefusalLog:
    """Logs refused requests without letting a client flood the log: the first one, then at most one line per
    `every` seconds saying how many were refused meanwhile (a token guesser sends thousands a second)."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last = -math.inf
        self._since = 0

    def note(self, method: str, path: str, client: str) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            self._since += 1
            return
        more = f" ({self._since} more refused in the last {now - self._last:.0f} s)" if self._since else ""
        self._last, self._since = now, 0
        # %r: the path is the client's text, percent-decoded (a %0A in it must not forge a log line).
        log.warning("refused %s %r from %s: no valid credentials%s", method, path, client, more)


class Guard:
    """ASGI middleware applying an `AccessPolicy` and the body checks to every HTTP request."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy
        self._unauthorized = _RefusalLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.perf_counter()
        try:
            self._check_headers(scope)
            if scope["method"] in _WRITES:
                body = await self._read_body(scope, receive)
                if body is None:  # the client went away
                    return
                if len(body) > _INLINE:  # parsing megabytes would stall every other request meanwhile
                    document = await run_in_threadpool(parse_json, body)
                else:
                    document = parse_json(body)
                state = scope.setdefault("state", {})
                state["json"], state["arrived"] = JsonBody(body, document), arrived
                receive = _replay(body, receive)
        except Refusal as refusal:
            await _answer(send, refusal)
            return
        await self.app(scope, receive, send)

    def _check_headers(self, scope: Scope) -> None:
        policy = self.policy
        host = _header(scope, b"host")
        if host is None:
            raise Refusal(400, "a Host header is required")
        if sum(1 for key, _ in scope["headers"] if key == b"host") > 1:
            # RFC 9112 3.2: a proxy or a check in front may read the other one.
            raise Refusal(400, "more than one Host header")
        if not policy.host_allowed(host):
            shown = host.decode("latin-1")[:100]
            raise Refusal(421, f"this server does not answer to the Host {shown!r}; see --allow-host")
        credentials = policy.credentials
        if (
            credentials is not None
            and policy.needs_credentials(scope["method"])
            and not credentials.accepts(_header(scope, b"authorization"))
        ):
            client = scope.get("client") or ("?", 0)
            self._unauthorized.note(scope["method"], scope["path"], client[0])
            challenges = [(b"www-authenticate", c.encode()) for c in credentials.challenges()]
            raise Refusal(401, "authentication required: send the bearer token or basic auth", challenges)
        if scope["method"] in _WRITES:
            media = (_header(scope, b"content-type") or b"").partition(b";")[0].strip().lower()
            if media != b"application/json":
                raise Refusal(415, "the body must be JSON, sent with Content-Type: application/json")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.policy.max_body
        length = _header(scope, b"content-length")
        if _header(scope, b"transfer-encoding") is not None or length is None:
            raise Refusal(411, "a Content-Length header is required (chunked bodies are not accepted)")
        if not length.strip().isdigit():
            raise Refusal(400, "the Content-Length header is not a number")
        if int(length) > limit:
            # The server reads and drops a refused body after the answer, so the client can finish sending and
            # read it; a body past a few times the limit is not worth reading: the connection is closed.
            raise Refusal(413, f"the body is over {limit} bytes", close=int(length) > _DRAINED * limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refusal(413, f"the body is over {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """A `receive` that gives the body already read once, then hands over to the server's (disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


async def _answer(send: Send, refusal: Refusal) -> None:
    body = error_body(refusal.reason)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *refusal.headers,
    ]
    if refusal.close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
