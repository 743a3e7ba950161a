"""Helpers for tests that run the real thing: `seclo serve` and Prometheus as child processes.

Every wait polls against a generous overall deadline and fails (never skips) when it passes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from seclo.errors import StoreError
from seclo.store import Store, open_store

T = TypeVar("T")
DEADLINE = 90.0


def wait_for(what: str, probe: Callable[[], T | None], deadline: float = DEADLINE, every: float = 0.2) -> T:
    """Poll `probe` until it returns something other than None (or False); fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            value = probe()
        except (OSError, StoreError) as exc:  # not up yet, or the store is busy
            last, value = exc, None
        if value is not None and value is not False:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what} (last error: {last})")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with urllib: status, headers and body (error statuses are returned, not raised)."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")  # noqa: S310 - a test URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - a test URL
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@dataclass
class Serve:
    """A running `seclo serve` child process."""

    process: subprocess.Popen[str]
    url: str
    log: Path

    def stop(self) -> None:
        """SIGTERM, as a service manager would; the server closes cleanly."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_serve(workspace: Path, refresh: str = "1s", env: dict[str, str] | None = None) -> Serve:
    """Start `seclo serve --port 0` on the workspace (with `env` added to the environment) and wait for the
    line saying where it listens."""
    log = workspace / f"serve-{time.monotonic_ns()}.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seclo",
                "serve",
                "--port",
                "0",
                "--refresh",
                refresh,
                "-w",
                str(workspace),
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        process.wait()
        raise AssertionError(f"seclo serve did not start: {line!r}\n{log.read_text()}")
    return Serve(process, line.split("listening on ", 1)[1].split()[0], log)


@dataclass
class Prometheus:
    """A running Prometheus child process."""

    process: subprocess.Popen[bytes]
    url: str

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        form = {"query": promql} | ({} if at is None else {"time": f"{at:.3f}"})
        status, _, body = http(self.url + "/api/v1/query", urllib.parse.urlencode(form).encode())
        document = json.loads(body)
        assert status == 200, document
        return list(document["data"]["result"])

    def value(self, promql: str, at: float | None = None) -> float | None:
        """The value of a query returning one series (None: no series)."""
        result = self.query(promql, at)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_prometheus(
    folder: Path, target: str, interval: str = "1s", rules: Path | None = None
) -> Prometheus:
    """Start the real Prometheus scraping `target` (host:port) every `interval`, with the rule file `rules`
    if given; wait until it is ready."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    rule_files = "" if rules is None else f"rule_files: [{json.dumps(str(rules))}]\n"
    config.write_text(
        f"""global:
  scrape_interval: {interval}
  evaluation_interval: {interval}
{rule_files}scrape_configs:
  - job_name: seclo
    static_configs:
      - targets: ["{target}"]
""",
        encoding="utf-8",
    )
    port = free_port()
    with (folder / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    prometheus = Prometheus(process, f"http://127.0.0.1:{port}")
    try:
        wait_for("Prometheus to be ready", lambda: http(prometheus.url + "/-/ready")[0] == 200)
    except AssertionError:
        prometheus.stop()
        raise AssertionError((folder / "prometheus.log").read_text()[-3000:]) from None
    return prometheus


def write_store(path: Path, sql: str, params: Any = None, deadline: float = DEADLINE) -> None:
    """Run one write on the store, retrying while `seclo serve` holds it for a refresh."""

    def attempt() -> bool:
        with open_store(path) as store:
            store.conn.execute(sql, params).fetchall()
        return True

    wait_for("the store's write lock", attempt, deadline, every=0.02)


def read_store(path: Path, use: Callable[[Store], T], deadline: float = DEADLINE) -> T:
    """Open the store read-only (retrying while it is locked for writing) and apply `use`."""

    def attempt() -> tuple[T]:
        with open_store(path, read_only=True) as store:
            return (use(store),)

    return wait_for("the store", attempt, deadline, every=0.05)[0]
