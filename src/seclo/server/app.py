"""seclo's HTTP application: one Starlette app on uvicorn for /metrics, the Alertmanager webhook and playbooks.

`build_app` puts the routes of what is enabled behind one `Guard` (seclo.server.guard), where the Host check,
authentication, content type, body limit and JSON checks live for every route. `seclo serve` (`serve()`)
enables:

- GET /metrics: the exposition the refresher rendered last, gzip-compressed when the client accepts it
  (Prometheus does). Keep-alive connections, so a scraper reuses its connection.
- POST /alertmanager: an Alertmanager webhook payload (version 4). 400 with the reason when it is not one;
  200 only after it is in the fsync'ed inbox journal; 503 if the journal cannot be written. Once journaled, the
  payload also goes to the playbooks it triggers (seclo.server.playbooks), which run without holding up the
  answer.

`seclo playbook listen` is the same application without the exporter (seclo.playbooks.receiver). Every
refusal, and every route's error, is a one-line JSON body `{"error": "..."}`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from seclo.errors import InputError
from seclo.playbooks import load_playbooks
from seclo.server.alertmanager import parse_payload
from seclo.server.auth import AccessPolicy, Credentials, access_policy
from seclo.server.inbox import AlertInbox
from seclo.server.listener import HttpListener
from seclo.server.playbooks import PlaybookService
from seclo.server.refresher import Refresher
from seclo.server.slow_clients import ConnectionLimits
from seclo.workspace import Workspace

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute
    from starlette.types import Receive, Scope, Send

__all__ = ["SecloServer", "accepts_gzip", "build_app", "json_response", "serve"]

log = logging.getLogger(__name__)

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


def json_response(status: int, document: dict[str, Any]) -> Response:
    """A JSON answer on one line."""
    from starlette.responses import Response  # noqa: PLC0415

    return Response(json.dumps(document).encode() + b"\n", status, media_type="application/json")


def build_app(policy: AccessPolicy, routes: Sequence[BaseRoute]) -> Starlette:
    """The Starlette application serving `routes` behind the `Guard` applying `policy`."""
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.exceptions import HTTPException  # noqa: PLC0415
    from starlette.middleware import Middleware  # noqa: PLC0415

    from seclo.server.guard import Guard, error_body  # noqa: PLC0415

    async def http_error(request: Request, exc: Exception) -> Response:
        from starlette.responses import Response  # noqa: PLC0415

        status = exc.status_code if isinstance(exc, HTTPException) else 500
        reason = exc.detail if isinstance(exc, HTTPException) else "internal error (logged by the server)"
        headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else None
        return Response(error_body(reason), status, headers, media_type="application/json")

    return Starlette(
        routes=list(routes),
        middleware=[Middleware(Guard, policy=policy)],
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )


class _Metrics:
    """GET /metrics as a bare ASGI app: the cached bytes, without a Request and a Response per scrape."""

    def __init__(self, refresher: Refresher) -> None:
        from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4  # noqa: PLC0415

        self.refresher = refresher
        self.content_type = CONTENT_TYPE_PLAIN_0_0_4.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exposition = self.refresher.exposition
        encoding = next((v for k, v in scope["headers"] if k == b"accept-encoding"), b"")
        headers = [(b"content-type", self.content_type), (b"vary", b"Accept-Encoding")]
        if accepts_gzip(encoding.decode("latin-1")):
            body = exposition.gzipped
            headers.append((b"content-encoding", b"gzip"))
        else:
            body = exposition.plain
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _serve_routes(
    refresher: Refresher, inbox: AlertInbox, playbooks: PlaybookService | None
) -> list[BaseRoute]:
    from starlette.responses import Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    async def index(request: Request) -> Response:
        return Response(INDEX, media_type="text/plain; charset=utf-8")

    def alertmanager(request: Request) -> Response:  # a thread of the pool: the journal's fsync blocks
        try:
            payload, document = parse_payload(request.state.json.raw)
        except InputError as exc:
            return json_response(400, {"error": " ".join(str(exc).split())})
        try:
            inbox.accept(document)
        except OSError as exc:
            log.error("cannot journal an Alertmanager payload: %s", exc.strerror)  # noqa: TRY400 - no traceback
            return json_response(503, {"error": "the payload could not be stored; retry"})
        refresher.wake()
        if playbooks is not None and (why := playbooks.alert(document)) is not None:
            # Shutting down, or no run could be audited: the payload is journaled, but its playbooks would not
            # run. Alertmanager retries a 5xx, and the retry (to this server once restarted) runs them; the
            # journal keeps one copy per alert.
            return json_response(503, {"error": why})
        # Journaled, not yet merged: an alert the store cannot hold is rejected at the merge (counted in
        # seclo_inbox_rejected_total, kept in the rejected table), so "journaled" is what this answer means.
        return json_response(200, {"status": "accepted", "journaled": True, "alerts": len(payload.alerts)})

    return [
        Route("/metrics", _Metrics(refresher), methods=["GET"]),
        Route("/", index, methods=["GET"]),
        Route("/alertmanager", alertmanager, methods=["POST"]),
    ]


class SecloServer:
    """`seclo serve`: the HTTP application on uvicorn, with the workspace's refresher, inbox and playbooks."""

    def __init__(
        self,
        address: tuple[str, int],
        refresher: Refresher,
        inbox: AlertInbox,
        playbooks: PlaybookService | None = None,
        policy: AccessPolicy | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.refresher = refresher
        self.inbox = inbox
        self.playbooks = playbooks
        self.policy = policy or access_policy(address[0], None)
        app = build_app(self.policy, _serve_routes(refresher, inbox, playbooks))
        self.listener = HttpListener(app, *address, limits)

    @property
    def url(self) -> str:
        """The base URL the server listens on."""
        return self.listener.url

    def serve_forever(self) -> None:
        """Answer requests until `close()` (from another thread), Ctrl-C or SIGTERM."""
        self.listener.serve_forever()

    def start(self) -> SecloServer:
        """Answer requests on a background thread until `close()`."""
        self.listener.start()
        return self

    def close(self) -> None:
        """Stop serving, let playbook runs in progress finish and record them, and stop the refresher."""
        try:
            self.listener.close()
            if self.playbooks is not None:
                self.playbooks.close()
        finally:
            self.refresher.stop()


def serve(
    workspace: Workspace,
    host: str = "127.0.0.1",
    port: int = 9464,
    refresh: timedelta | None = None,
    *,
    credentials: Credentials | None = None,
    allowed_hosts: Iterable[str] = (),
    insecure_no_auth: bool = False,
    limits: ConnectionLimits | None = None,
) -> SecloServer:
    """Bind the server and start the refresher; the caller runs `serve_forever()` and later `close()`.

    Args:
        workspace: whose store and slos/ are exported, whose inbox receives Alertmanager payloads, and whose
            playbooks/ run on those payloads and on the polled triggers after each refresh.
        host, port: where to listen (port 0: any free port; see `SecloServer.url`).
        refresh: how often the figures are read from the store (default one minute).
        credentials: what requests must present (seclo.server.auth.load_credentials); None: no authentication.
        allowed_hosts: Host names answered besides the bound address's (seclo.server.auth.access_policy).
        insecure_no_auth: allow listening beyond loopback without credentials.
        limits: deadlines for slow clients and the cap on connections (seclo.server.slow_clients).

    Raises:
        ConfigError: beyond loopback without credentials, the address cannot be bound (in use, or not an
            address of this machine), or a playbook file is invalid.
        StoreError: there are playbooks and the store cannot be opened to load their past runs.
    """
    policy = access_policy(host, credentials, allowed_hosts=allowed_hosts, insecure_no_auth=insecure_no_auth)
    inbox = AlertInbox(workspace.root / ".seclo" / "inbox")
    gate = threading.RLock()
    refresher = Refresher(workspace, refresh or timedelta(minutes=1), inbox, gate=gate)
    playbooks: PlaybookService | None = None
    if loaded := load_playbooks(workspace.root / "playbooks"):
        playbooks = PlaybookService(workspace, gate, loaded)
        refresher.on_refresh = playbooks.evaluate
    try:
        server = SecloServer((host, port), refresher, inbox, playbooks, policy, limits)
    except BaseException:
        if playbooks is not None:
            playbooks.close()
        raise
    refresher.start()
    return server
