"""A small HTTP receiver for Alertmanager webhooks (stdlib http.server), for `seclo playbook listen`.

`seclo serve` receives webhooks on POST /alertmanager itself (journaling them first); this receiver is for
running playbooks without the rest of serve.

POST any path with an Alertmanager v4 JSON body: the receiver answers 202 at once and hands the payload to
`PlaybookRunner.handle_alertmanager` on a worker thread, so a slow step never holds up Alertmanager. Binds
127.0.0.1 by default.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from seclo.errors import InputError
from seclo.playbooks.alertmanager import AlertmanagerPayload, parse_payload

__all__ = ["AlertmanagerReceiver", "WebhookHandler"]

log = logging.getLogger("seclo.playbooks")
_MAX_BODY = 4 * 1024 * 1024


class WebhookHandler(Protocol):
    """What the receiver hands payloads to (seclo.playbooks.PlaybookRunner)."""

    def handle_alertmanager(self, payload: Any, *, dry_run: bool = False) -> Any:
        """Run the playbooks the payload triggers."""

    def refusal(self) -> str | None:
        """Why no playbook can run any more (its runs could not be audited), or None."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog: socketserver's default of 5 resets connections in a burst of webhooks.
    request_queue_size = 128


class AlertmanagerReceiver:
    """An HTTP server that runs playbooks for the webhooks it receives.

    Args:
        runner: the engine.
        host, port: where to listen (port 0 picks a free one; see `.port`).
        workers: playbook runs that may be in their steps at once.
        on_arrival: called with each valid payload and its arrival time (time.perf_counter()).
    """

    def __init__(
        self,
        runner: WebhookHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        workers: int = 8,
        on_arrival: Callable[[AlertmanagerPayload, float], None] | None = None,
    ) -> None:
        self.runner = runner
        self.on_arrival = on_arrival
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seclo-playbook")
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.perf_counter()
                if (why := receiver.runner.refusal()) is not None:
                    # Alertmanager retries a 5xx: the alert is not lost while nothing can be audited here.
                    self._reply(503, {"error": why})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self._reply(413, {"error": "payload too large"})
                    return
                try:
                    payload = parse_payload(self.rfile.read(length))
                except InputError as exc:
                    self._reply(400, {"error": str(exc)})
                    return
                if receiver.on_arrival is not None:
                    receiver.on_arrival(payload, arrived)
                receiver.pool.submit(receiver._handle, payload)
                self._reply(202, {"accepted": len(payload.alerts)})

            def _reply(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("receiver: " + format, *args)

        self.server = _Server((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.server.server_address[1])

    def _handle(self, payload: AlertmanagerPayload) -> None:
        try:
            self.runner.handle_alertmanager(payload.model_dump(by_alias=True))
        except Exception:  # a worker thread must not die silently: log it and go on with the next webhook
            log.exception("playbook run for an Alertmanager webhook failed")

    def start(self) -> AlertmanagerReceiver:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.server.serve_forever, name="seclo-receiver", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.server.serve_forever()

    def close(self) -> None:
        """Stop listening and wait for runs in progress."""
        self.server.shutdown()
        self.server.server_close()
        self.pool.shutdown(wait=True)
