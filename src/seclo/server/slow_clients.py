"""Deadlines for slow clients: a connection may not hold the server by sending its request a byte at a time.

uvicorn times out an idle keep-alive connection, but not a connection that has started a request and never
finishes it (slowloris): one that sends its headers, or its body, a byte every few seconds stays open for
good, and a few thousand of them hold every file descriptor and push past the concurrency limit, so /metrics
and the webhook get nothing. `deadline_protocol` gives uvicorn's httptools protocol two deadlines:

- the headers of a request must all arrive within `header_timeout` of its first byte (or of the connection
  being opened); past it the client gets 408 and the connection is closed;
- its body must all arrive within `body_timeout` of the end of its headers; past it the connection is
  closed (the route sees the client gone, and nothing is journaled).

The protocol also makes the authority of an absolute-form target (`POST http://evil/x`) the Host the
guard checks, as RFC 9112 says a server must.

A request's line and headers are capped at `max_header_bytes` (64 KiB): past it the client gets 400 and the
connection is closed (uvicorn and llhttp set no limit of their own).

Time spent by the server itself (a route answering, a keep-alive connection waiting for its next request,
which uvicorn's keep-alive timeout already bounds) does not count. `ConnectionLimits.max_connections` is
uvicorn's `limit_concurrency`: past that many open connections or requests in progress, a request gets 503
at once instead of queueing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionLimits", "deadline_protocol"]

_REASON = b'{"error": "the request was not sent in time"}\n'
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_REASON), _REASON)
)


_HEADER_TIMEOUT, _BODY_TIMEOUT = 10.0, 30.0
_MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long a client may take to send a request, and how many connections the server holds at once.

    Attributes:
        header_timeout: seconds from a request's first byte to the end of its headers.
        body_timeout: seconds from the end of its headers to the end of its body.
        max_connections: open connections (or requests in progress) past which requests get 503.
        max_header_bytes: the request line and headers of one request, at most (past it: 400, closed).
    """

    header_timeout: float = _HEADER_TIMEOUT
    body_timeout: float = _BODY_TIMEOUT
    max_connections: int = 1000
    max_header_bytes: int = _MAX_HEADER_BYTES


_Phase = Literal["idle", "headers", "body", "app"]


class _HeadersTooLarge(Exception):  # noqa: N818 - it is the parser's reason, not a failure of seclo
    """The request line and headers passed `ConnectionLimits.max_header_bytes`."""


class _DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on reading each request (see the module docstring)."""

    header_timeout: float = _HEADER_TIMEOUT
    body_timeout: float = _BODY_TIMEOUT
    max_header_bytes: int = _MAX_HEADER_BYTES
    _header_bytes: int = 0
    _phase: _Phase = "idle"
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._enter("headers", self.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._phase == "idle":  # the first byte of the next request on a kept-alive connection
            self._enter("headers", self.header_timeout)
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        super().on_message_begin()
        if self._phase not in {"headers", "body"}:  # a pipelined request
            self._enter("headers", self.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def _count_header_bytes(self, size: int) -> None:
        # uvicorn keeps every header in memory and llhttp sets no limit: a client could send a gigabyte of
        # them within the header deadline. Raising here makes the parser fail: uvicorn answers 400 and closes.
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            raise _HeadersTooLarge(self.max_header_bytes)

    def on_headers_complete(self) -> None:
        self._enter("body", self.body_timeout)
        if self.url[:1] not in {b"/", b"*", b""}:
            _use_target_authority(self.url, self.headers)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._enter("app", None)
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._phase == "app":
            self._enter("idle", None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._enter("idle", None)
        super().connection_lost(exc)

    def _enter(self, phase: _Phase, timeout: float | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._phase = phase
        self._deadline = None if timeout is None else self.loop.call_later(timeout, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self._phase not in {"headers", "body"} or self.transport.is_closing():
            return
        if self._phase == "headers" and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_TIMED_OUT)
        self.transport.close()


def _use_target_authority(url: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """Make the authority of an absolute-form target (`POST http://evil/alertmanager`) the request's Host.

    RFC 9112 3.2.2: a server receiving an absolute-form target ignores the Host header and uses the target's
    host, so that is what the Host check (seclo.server.guard) must see; uvicorn keeps only the path.
    """
    authority = url.partition(b"://")[2].split(b"/", 1)[0].split(b"?", 1)[0]
    headers[:] = [(name, value) for name, value in headers if name != b"host"]
    headers.append((b"host", authority))


def deadline_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn's `http` setting for these limits."""
    return type(
        "SecloHttpProtocol",
        (_DeadlineProtocol,),
        {
            "header_timeout": limits.header_timeout,
            "body_timeout": limits.body_timeout,
            "max_header_bytes": limits.max_header_bytes,
        },
    )
