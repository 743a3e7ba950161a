"""The process behind the `listening_port` fault: listen on a port, answer with a banner, stop after a TTL.

Run as `python path/to/listener.py HOST PORT PIDFILE TTL BANNER` (a script, standard library only, so it
starts in milliseconds without importing seclo). It writes its pid file only once the port is listening, and
exits by itself after TTL seconds, so even a listener whose runner was killed and never recovered does not
stay open for ever.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

__all__ = ["serve"]


def serve(host: str, port: int, pidfile: Path, ttl: float, banner: str) -> int:
    """Listen until TTL or SIGTERM; 0 when stopped, 3 when the port could not be bound."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((host, port))
        except OSError as exc:
            print(f"cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
            return 3
        server.listen(16)
        partial = pidfile.with_name(pidfile.name + ".tmp")
        partial.write_text(f"{os.getpid()}\n")
        os.replace(partial, pidfile)  # atomic: a reader sees no pid file or a whole one
        end = time.monotonic() + ttl
        while (left := end - time.monotonic()) > 0:
            server.settimeout(min(left, 1.0))
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):  # the client went away: fine
                conn.sendall(banner.encode() + b"\n")
    return 0


if __name__ == "__main__":
    host, port, pidfile, ttl, banner = sys.argv[1:6]
    sys.exit(serve(host, int(port), Path(pidfile), float(ttl), banner))
