"""`seclo playbook listen`: seclo's HTTP application without the exporter, running playbooks for webhooks.

`seclo serve` receives webhooks on POST /alertmanager itself (journaling them first); this receiver is for
running playbooks without the rest of serve. It is the same Starlette application on uvicorn
(seclo.server.app), so the same checks apply before a payload is looked at: Host, authentication,
Content-Type: application/json, body size and JSON (seclo.server.guard).

POST / or /alertmanager with an Alertmanager v4 JSON body: the receiver answers 202 at once and hands the
payload to `PlaybookRunner.handle_alertmanager` on a worker thread, so a slow step never holds up
Alertmanager. Binds 127.0.0.1 by default.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from seclo.errors import InputError
from seclo.playbooks.alertmanager import AlertmanagerPayload, parse_payload

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from seclo.playbooks.redaction import Redactor
    from seclo.server.auth import Credentials

__all__ = ["AlertmanagerReceiver", "WebhookHandler"]

log = logging.getLogger("seclo.playbooks")


class WebhookHandler(Protocol):
    """What the receiver hands payloads to (seclo.playbooks.PlaybookRunner)."""

    redactor: Redactor  # applied to what the receiver logs of a failed run

    def handle_alertmanager(self, payload: Any, *, dry_run: bool = False) -> Any:
        """Run the playbooks the payload triggers."""

    def refusal(self) -> str | None:
        """Why no playbook can run any more (its runs could not be audited), or None."""


class AlertmanagerReceiver:
    """An HTTP server that runs playbooks for the webhooks it receives.

    Args:
        runner: the engine.
        host, port: where to listen (port 0 picks a free one; see `.port`).
        workers: playbook runs that may be in their steps at once.
        on_arrival: called with each valid payload and its arrival time (time.perf_counter()).
        credentials, allowed_hosts, insecure_no_auth: as for `seclo.server.serve`.

    Raises:
        ConfigError: beyond loopback without credentials, or the address cannot be bound.
    """

    def __init__(
        self,
        runner: WebhookHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        workers: int = 8,
        on_arrival: Callable[[AlertmanagerPayload, float], None] | None = None,
        credentials: Credentials | None = None,
        allowed_hosts: Iterable[str] = (),
        insecure_no_auth: bool = False,
    ) -> None:
        from starlette.routing import Route  # noqa: PLC0415 - only this command needs the HTTP stack

        from seclo.server.app import build_app, json_response  # noqa: PLC0415
        from seclo.server.auth import access_policy  # noqa: PLC0415
        from seclo.server.listener import HttpListener  # noqa: PLC0415

        self.runner = runner
        self.on_arrival = on_arrival
        policy = access_policy(
            host, credentials, allowed_hosts=allowed_hosts, insecure_no_auth=insecure_no_auth
        )

        async def webhook(request: Request) -> Response:
            if (why := self.runner.refusal()) is not None:
                # Alertmanager retries a 5xx: the alert is not lost while nothing can be audited here.
                return json_response(503, {"error": why})
            try:
                payload = parse_payload(request.state.json.document)
            except InputError as exc:
                return json_response(400, {"error": " ".join(str(exc).split())})
            if self.on_arrival is not None:
                self.on_arrival(payload, request.state.arrived)
            self.pool.submit(self._handle, payload)
            # Hand the GIL to the worker now: its first step should not wait while this thread writes the
            # answer and goes round the event loop (0.2 to 0.3 ms at p50 in bench/playbook_bench.py).
            time.sleep(0)
            return json_response(202, {"accepted": len(payload.alerts)})

        app = build_app(policy, [Route(path, webhook, methods=["POST"]) for path in ("/", "/alertmanager")])
        self.listener = HttpListener(app, host, port)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seclo-playbook")

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self.listener.port

    @property
    def url(self) -> str:
        """The base URL it listens on."""
        return self.listener.url

    def _handle(self, payload: AlertmanagerPayload) -> None:
        try:
            self.runner.handle_alertmanager(payload.model_dump(by_alias=True))
        except (
            Exception
        ) as exc:  # a worker thread must not die silently: log it and go on with the next webhook
            # Redacted: the message, or one in its traceback, may quote a step's secret (this log is a file).
            trace = self.runner.redactor.text("".join(traceback.format_exception(exc)))
            log.error("playbook run for an Alertmanager webhook failed:\n%s", trace)  # noqa: TRY400 - redacted

    def start(self) -> AlertmanagerReceiver:
        """Serve in a background thread."""
        self.listener.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C, SIGTERM) or `close()` from another thread."""
        self.listener.serve_forever()

    def close(self) -> None:
        """Stop listening and wait for runs in progress."""
        self.listener.close()
        self.pool.shutdown(wait=True)
