#!/usr/bin/env python3
"""A small detector service for seclo's example experiments (standard library only).

It watches two things and writes one line to its log, with its own clock, whenever it raises an alert:

- a port watcher: every `--interval` it tries the loopback ports in `--ports`; a port that starts listening and
  is not in `--expected` raises `ALERT unexpected-port port=N` (and `RESOLVED` when it closes again);
- an auth-log watcher (in the style of fail2ban): it follows `--auth-log`; `--threshold` OpenSSH "Failed
  password" lines for one user from one address within `--window` seconds raise `ALERT brute-force ...`, and
  it remediates by appending `deny src=IP user=USER` to `--blocklist`.

It also answers GET /health on `--health-port` with {"status": "ok"}, for a steady-state probe, and writes
its pid to `--pidfile` once it is ready.

    python detector.py --dir var --ports 18000-18019 --health-port 18099
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAILED = re.compile(r"Failed password for (?:invalid user )?(?P<user>\S+) from (?P<src>\S+)")


def stamp() -> str:
    """Now, in UTC with milliseconds: the time the detector raised the alert."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Log:
    """The detector's own log: one line per event, flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, message: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp()} {message}\n")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.05)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def parse_ports(text: str) -> list[int]:
    ports: list[int] = []
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        ports += range(int(low), int(high or low) + 1)
    return ports


class PortWatcher:
    def __init__(self, log: Log, ports: list[int], expected: set[int]) -> None:
        self.log, self.ports, self.expected = log, ports, expected
        self.alerted: set[int] = set()

    def tick(self) -> None:
        for port in self.ports:
            if port in self.expected:
                continue
            is_open = port_open(port)
            if is_open and port not in self.alerted:
                self.alerted.add(port)
                self.log.write(f"ALERT unexpected-port port={port}")
            elif not is_open and port in self.alerted:
                self.alerted.discard(port)
                self.log.write(f"RESOLVED unexpected-port port={port}")


class AuthLogWatcher:
    def __init__(self, log: Log, auth_log: Path, blocklist: Path, threshold: int, window: float) -> None:
        self.log, self.auth_log, self.blocklist = log, auth_log, blocklist
        self.threshold, self.window = threshold, window
        self.offset = auth_log.stat().st_size if auth_log.exists() else 0  # only what is written from now on
        self.failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.blocked: set[tuple[str, str]] = set()
        self.partial = b""

    def tick(self) -> None:
        if not self.auth_log.exists():
            return
        size = self.auth_log.stat().st_size
        if size < self.offset:
            self.offset = 0  # rotated or truncated
        if size == self.offset:
            return
        with self.auth_log.open("rb") as handle:
            handle.seek(self.offset)
            data = self.partial + handle.read()
        self.offset = size
        *lines, self.partial = data.split(b"\n")
        now = time.monotonic()
        for raw in lines:
            match = FAILED.search(raw.decode("utf-8", errors="replace"))
            if match is None:
                continue
            key = (match["src"], match["user"])
            seen = self.failures[key]
            seen.append(now)
            while seen and now - seen[0] > self.window:
                seen.popleft()
            if len(seen) >= self.threshold and key not in self.blocked:
                self.blocked.add(key)
                self.log.write(f"ALERT brute-force src={key[0]} user={key[1]} failures={len(seen)}")
                with self.blocklist.open("a", encoding="utf-8") as handle:
                    handle.write(f"deny src={key[0]} user={key[1]}\n")
                self.log.write(f"BLOCKED src={key[0]} user={key[1]}")


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("var"), help="Folder for the files below.")
    parser.add_argument("--log", default="detector.log")
    parser.add_argument("--auth-log", default="auth.log")
    parser.add_argument("--blocklist", default="blocklist")
    parser.add_argument("--pidfile", default="detector.pid")
    parser.add_argument("--ports", default="18000-18019", help="Loopback ports to watch, e.g. 18000-18019.")
    parser.add_argument("--expected", default="", help="Watched ports allowed to be open.")
    parser.add_argument("--threshold", type=int, default=5)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--health-port", type=int, default=18099)
    args = parser.parse_args()

    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    log = Log(folder / args.log)
    auth_log = folder / args.auth_log
    auth_log.touch()
    ports = PortWatcher(log, parse_ports(args.ports), set(parse_ports(args.expected)))
    auth = AuthLogWatcher(log, auth_log, folder / args.blocklist, args.threshold, args.window)
    server = ThreadingHTTPServer(("127.0.0.1", args.health_port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    pidfile = folder / args.pidfile
    pidfile.write_text(f"{os.getpid()}\n")
    log.write(f"started pid={os.getpid()} ports={args.ports} auth_log={auth_log}")
    try:
        while not stopping.is_set():
            ports.tick()
            auth.tick()
            stopping.wait(args.interval)
    finally:
        server.shutdown()
        log.write("stopped")
        with contextlib.suppress(FileNotFoundError):
            pidfile.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
