"""Helpers for experiment tests: free ports, port state, file hashes, polling, and the example detector."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from seclo.experiments.result import RunResult

EXAMPLES = Path(__file__).parents[2] / "examples" / "experiments"
# Integration tests poll real processes; this is a generous bound on how long that may take, not a timing check.
PATIENCE = 30.0


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    """Whether 127.0.0.1:port accepts connections."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def sha256(path: Path) -> str:
    """The file's content hash ("" when it does not exist)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under `root` with its content hash."""
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def wait_for(condition: object, what: str) -> None:
    """Poll `condition()` until true, failing after PATIENCE seconds."""
    end = time.monotonic() + PATIENCE
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass(frozen=True)
class Detector:
    """The example detector, running."""

    var: Path
    log: Path
    health_port: int
    watched: tuple[int, int]

    def env(self, **more: str) -> dict[str, str]:
        """Environment for the example experiments to find this detector."""
        return {
            **os.environ,
            "SECLO_EXAMPLE_VAR": str(self.var),
            "SECLO_EXAMPLE_HEALTH": f"http://127.0.0.1:{self.health_port}/health",
            **more,
        }

    def alerts(self, pattern: str) -> list[str]:
        """Lines of the detector's log containing `pattern`."""
        return [line for line in self.log.read_text().splitlines() if pattern in line]


def new_workspace(root: Path) -> Path:
    """A new workspace at `root`, its experiments/ folder emptied of init's starters (tests name their own)."""
    from seclo.workspace import init_workspace  # noqa: PLC0415

    init_workspace(root)
    for starter in (root / "experiments").iterdir():
        starter.unlink()
    return root


def write_experiment(root: Path, name: str, text: str) -> Path:
    """An experiment file in the workspace's experiments/ folder."""
    path = root / "experiments" / name
    path.write_text(text)
    return path


def run_experiment(root: Path, name: str, env: dict[str, str] | None = None) -> RunResult:
    """Run an experiment of the workspace through the library, in this process."""
    from seclo.experiments import load_experiment, plan_run, run_plan  # noqa: PLC0415
    from seclo.workspace import Workspace  # noqa: PLC0415

    loaded = load_experiment(root / "experiments" / name)
    return run_plan(plan_run(loaded, Workspace.open(root), env=env or {}))


def journal_of(result: RunResult) -> dict[str, Any]:
    """The run's journal, as written."""
    return dict(json.loads(result.journal.read_text()))


def seclo_cli(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the seclo CLI in a new process, in the workspace."""
    command = [sys.executable, "-m", "seclo", *args, "--workspace", str(root)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


@dataclass
class LoginServer:
    """A login endpoint on 127.0.0.1 that refuses every login (or accepts them all) and counts the attempts.

    POST /login answers 401 (200 when `accept`, a 302 back to GET /form when `redirect`); GET /stats answers `failures=N`; GET /metrics exposes
    `login_failures_total` for Prometheus; `on_failure(user, failures_of_that_user)` is called on each refusal.
    """

    accept: bool = False
    redirect: bool = False
    on_failure: Callable[[str, int], None] | None = None
    attempts: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def failures(self) -> int:
        """Refused attempts so far."""
        return 0 if self.accept else len(self.attempts)

    def start(self) -> LoginServer:
        """Listen on a free port, serving from a thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

            def _reply(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.partition("?")[0]
                if path == "/stats":
                    self._reply(200, f"failures={owner.failures()}\n")
                elif path == "/form":
                    self._reply(200, "<form>login</form>\n")
                elif path == "/metrics":
                    self._reply(200, f"login_failures_total {owner.failures()}\n")
                else:
                    self._reply(404, "not found\n")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                kind = self.headers.get("Content-Type", "")
                fields = json.loads(raw) if kind == "application/json" else dict(parse_qsl(raw))
                owner.attempts.append((kind, fields))
                owner.paths.append(self.path)
                if owner.accept:
                    self._reply(200, "welcome\n")
                    return
                if owner.redirect:  # as many login forms do: back to the form, with an error flag
                    self.send_response(302)
                    self.send_header("Location", "/form?error=1")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._reply(401, "wrong user name or password\n")
                if owner.on_failure is not None:
                    user = fields.get("username", "")
                    owner.on_failure(user, sum(1 for _, f in owner.attempts if user in f.values()))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def http_status(url: str) -> int:
    """The status a GET of `url` answers (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local test server
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


@dataclass(frozen=True)
class Daemon:
    """A server process started by a test (Prometheus, Alertmanager), and its base URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """Terminate it and wait for it to exit."""
        self.process.terminate()
        try:
            self.process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_daemon(command: list[str], port: int, log: Path) -> Daemon:
    """Start `command` (listening on 127.0.0.1:port) and wait until its /-/ready answers 200."""
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    daemon = Daemon(process, f"http://127.0.0.1:{port}", log)
    end = time.monotonic() + PATIENCE
    while http_status(daemon.url + "/-/ready") != 200:
        if process.poll() is not None or time.monotonic() > end:
            daemon.stop()
            pytest.fail(f"{command[0]} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    return daemon


def start_prometheus(folder: Path, target: str) -> Daemon:
    """The real Prometheus (Debian's package) scraping `target` (host:port) every 100 ms."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 100ms, scrape_timeout: 100ms, evaluation_interval: 100ms}\n"
        f'scrape_configs: [{{job_name: logins, static_configs: [{{targets: ["{target}"]}}]}}]\n'
    )
    port = free_port()
    command = ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}"]
    command += [f"--web.listen-address=127.0.0.1:{port}"]
    return start_daemon(command, port, folder / "prometheus.log")


def start_alertmanager(folder: Path) -> Daemon:
    """The real Alertmanager (Debian's prometheus-alertmanager), alone (no cluster), routing to nobody."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "alertmanager.yml"
    config.write_text("route: {receiver: nobody}\nreceivers: [{name: nobody}]\n")
    port = free_port()
    command = ["prometheus-alertmanager", f"--config.file={config}", f"--storage.path={folder / 'data'}"]
    command += [f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    return start_daemon(command, port, folder / "alertmanager.log")


def post_alert(alertmanager: str, labels: dict[str, str]) -> None:
    """Send an alert to Alertmanager's API, as Prometheus or a detector does."""
    body = json.dumps([{"labels": labels, "annotations": {"summary": "raised by a test detector"}}])
    request = urllib.request.Request(  # noqa: S310 - a local test server
        alertmanager + "/api/v2/alerts",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200
