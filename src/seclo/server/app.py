"""The HTTP side of `seclo serve`: the standard library's threading HTTP server, one thread per connection.

- GET /metrics: the exposition the refresher rendered last, gzip-compressed when the client accepts it
  (Prometheus does). HTTP/1.1 with keep-alive, so a scraper reuses its connection.
- POST /alertmanager: an Alertmanager webhook payload (version 4). 400 with the reason when it is not one;
  200 only after it is in the fsync'ed inbox journal; 503 if the journal cannot be written. Once journaled, the
  payload also goes to the playbooks it triggers (seclo.server.playbooks), which run without holding up the
  answer.

No framework: two routes over cached bytes need none, and http.server keeps the dependency list short.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from seclo import __version__
from seclo.errors import ConfigError, InputError
from seclo.playbooks import load_playbooks
from seclo.server.alertmanager import parse_payload
from seclo.server.inbox import AlertInbox
from seclo.server.playbooks import PlaybookService
from seclo.server.refresher import Refresher
from seclo.workspace import Workspace

__all__ = ["MAX_BODY", "SecloServer", "accepts_gzip", "serve"]

log = logging.getLogger(__name__)

# Alertmanager batches alerts per group; 10 MiB is thousands of alerts, far past any real notification.
MAX_BODY = 10 * 1024 * 1024
INDEX = b"seclo serve: GET /metrics (Prometheus exposition), POST /alertmanager (webhook, version 4)\n"


def accepts_gzip(header: str | None) -> bool:
    """True when an Accept-Encoding header allows gzip (a q-value of 0 refuses it)."""
    for item in (header or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in {"gzip", "*"}:
            q = params.strip().lower()
            if not q.startswith("q="):
                return True
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
    return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"seclo/{__version__}"
    disable_nagle_algorithm = True  # headers and body leave at once; no 40 ms delayed-ACK stalls
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server: SecloServer

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, document: dict[str, Any]) -> None:
        self._send(status, json.dumps(document).encode() + b"\n", "application/json")

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            exposition = self.server.refresher.exposition
            if accepts_gzip(self.headers.get("Accept-Encoding")):
                body, extra = exposition.gzipped, {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            else:
                body, extra = exposition.plain, {"Vary": "Accept-Encoding"}
            self._send(HTTPStatus.OK, body, CONTENT_TYPE_PLAIN_0_0_4, extra)
        elif path == "/":
            self._send(HTTPStatus.OK, INDEX, "text/plain; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/alertmanager":
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "a Content-Length header is required"})
            return
        if int(length) > MAX_BODY:
            self.close_connection = True
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"the body is over {MAX_BODY} bytes"})
            return
        body = self.rfile.read(int(length))
        try:
            payload, document = parse_payload(body)
        except InputError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        try:
            self.server.inbox.accept(document)
        except OSError as exc:
            log.error("cannot journal an Alertmanager payload: %s", exc.strerror)  # noqa: TRY400 - no traceback
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "the payload could not be stored; retry"})
            return
        self.server.refresher.wake()
        if self.server.playbooks is not None:
            self.server.playbooks.alert(document)
        self._json(HTTPStatus.OK, {"status": "accepted", "alerts": len(payload.alerts)})

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class SecloServer(ThreadingHTTPServer):
    """The HTTP server with the workspace's refresher and inbox."""

    daemon_threads = True
    block_on_close = False
    # The listen backlog: socketserver's default of 5 resets connections in a burst of webhooks or scrapes.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        refresher: Refresher,
        inbox: AlertInbox,
        playbooks: PlaybookService | None = None,
    ) -> None:
        self.refresher = refresher
        self.inbox = inbox
        self.playbooks = playbooks
        self._serving = False
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """The base URL the server listens on."""
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}"

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Answer requests until `shutdown()` (from another thread) or an exception such as Ctrl-C."""
        self._serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            self._serving = False

    def close(self) -> None:
        """Stop serving, let playbook runs in progress finish and record them, and stop the refresher."""
        if self._serving:
            self.shutdown()
        self.server_close()
        try:
            if self.playbooks is not None:
                self.playbooks.close()
        finally:
            self.refresher.stop()


def serve(
    workspace: Workspace, host: str = "127.0.0.1", port: int = 9464, refresh: timedelta | None = None
) -> SecloServer:
    """Bind the server and start the refresher; the caller runs `serve_forever()` and later `close()`.

    Args:
        workspace: whose store and slos/ are exported, whose inbox receives Alertmanager payloads, and whose
            playbooks/ run on those payloads and on the polled triggers after each refresh.
        host, port: where to listen (port 0: any free port; see `SecloServer.url`).
        refresh: how often the figures are read from the store (default one minute).

    Raises:
        ConfigError: the address cannot be bound (in use, or not an address of this machine), or a playbook
            file is invalid.
        StoreError: there are playbooks and the store cannot be opened to load their past runs.
    """
    inbox = AlertInbox(workspace.root / ".seclo" / "inbox")
    gate = threading.RLock()
    refresher = Refresher(workspace, refresh or timedelta(minutes=1), inbox, gate=gate)
    playbooks: PlaybookService | None = None
    if loaded := load_playbooks(workspace.root / "playbooks"):
        playbooks = PlaybookService(workspace, gate, loaded)
        refresher.on_refresh = playbooks.evaluate
    try:
        server = SecloServer((host, port), refresher, inbox, playbooks)
    except OSError as exc:
        if playbooks is not None:
            playbooks.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", tip="Choose another --port or --host."
        ) from None
    refresher.start()
    return server
