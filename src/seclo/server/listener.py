"""Run an ASGI application on uvicorn, on a socket bound before it starts.

Binding first gives the address at once (`--port 0` picks a free port and `url` says which) and turns a busy
or foreign address into a ConfigError before anything else starts. uvicorn then serves on that socket:
`serve_forever()` in the calling thread (the CLI's: uvicorn catches SIGINT and SIGTERM there, finishes the
requests in progress, then lets the signal through as Python would have), or `start()` on a thread.
`close()` stops it from any thread.

uvicorn is configured for a server on a small machine: httptools and uvloop, no access log (a line per scrape costs more than the
scrape), no logging set-up of its own (the CLI's applies), no proxy headers trusted, keep-alive connections
kept two minutes (Prometheus and Alertmanager reuse theirs), and 30 s for requests to finish on shutdown.
Slow clients are cut off and connections capped (`ConnectionLimits`, seclo.server.slow_clients).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

from seclo import __version__
from seclo.errors import ConfigError
from seclo.server.slow_clients import ConnectionLimits, deadline_protocol

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["HttpListener"]

# The listen backlog: a burst of webhooks or scrapes must queue, not be reset.
BACKLOG = 128


class _Throttle(logging.Filter):
    """Lets each of uvicorn's warnings through once per `every` seconds, with a count of those held back.

    uvicorn logs a line for every malformed request ("Invalid HTTP request received.") and every request past
    the connection limit ("Exceeded concurrency limit."): a client sending thousands a second would fill the
    disk. Errors (a route's traceback) always pass.
    """

    def __init__(self, every: float = 10.0) -> None:
        super().__init__()
        self.every = every
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        key, now = str(record.msg), time.monotonic()
        with self._lock:
            last, held = self._seen.get(key, (-self.every, 0))
            if now - last < self.every:
                self._seen[key] = (last, held + 1)
                return False
            self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last {now - last:.0f} s)"
        return True


_THROTTLE = _Throttle()
logging.getLogger("uvicorn.error").addFilter(_THROTTLE)


class HttpListener:
    """An ASGI application served by uvicorn on `host`:`port`.

    Raises:
        ConfigError: the address cannot be bound (in use, or not an address of this machine).
    """

    def __init__(self, app: ASGIApp, host: str, port: int, limits: ConnectionLimits | None = None) -> None:
        import uvicorn  # noqa: PLC0415 - only the server commands need it

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host.strip("[]"), port))
            sock.listen(BACKLOG)
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                tip="Choose another --port or --host.",
            ) from None
        self.socket = sock
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            # The C parser and event loop: with asyncio's loop a scrape cost 91 us of CPU against 57 us on the
            # old http.server, with uvloop 51 us (BENCHMARKS.md). httptools also reads and drops a refused
            # body after the answer, so the client can read the 413.
            http=deadline_protocol(limits or ConnectionLimits()),
            loop="uvloop",
            proxy_headers=False,
            server_header=False,
            headers=[("server", f"seclo/{__version__}")],
            timeout_keep_alive=120,
            timeout_graceful_shutdown=30,
            backlog=BACKLOG,
            limit_concurrency=(limits or ConnectionLimits()).max_connections,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._serving: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.socket.getsockname()[1])

    @property
    def url(self) -> str:
        """The base URL it listens on (an IPv6 address in brackets)."""
        host = str(self.socket.getsockname()[0])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def serve_forever(self) -> None:
        """Answer requests in this thread until `close()` from another thread, SIGINT or SIGTERM.

        In the main thread a signal first lets the requests in progress finish, then acts as usual (Ctrl-C
        raises KeyboardInterrupt here; a handler the caller set for SIGTERM runs).
        """
        self._serving = threading.current_thread()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def start(self) -> HttpListener:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="seclo-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting connections, let the requests in progress finish (30 s at most) and wait for it."""
        self._server.should_exit = True
        if self._serving not in {None, threading.current_thread()}:
            self._stopped.wait()
        if self._thread is not None:
            self._thread.join()
        self.socket.close()
