"""`listening_port`: an unexpected service listening on a (loopback) port, in its own process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from seclo.experiments.context import RunContext
from seclo.experiments.faults.interface import Fault, FaultError, FaultParams, Undo, narrow
from seclo.experiments.targets import Target, host_port

__all__ = ["ListeningPort", "ListeningPortParams", "ListeningPortUndo", "port_open"]

_START_TIMEOUT = 10.0


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class ListeningPortParams(FaultParams):
    """Parameters of `listening_port`."""

    banner: str = "seclo-chaos"


class ListeningPortUndo(Undo):
    """The listener to stop: its pid file, and the injection id its command line carries."""

    host: str
    port: int
    pidfile: str
    injection_id: str


def _is_ours(pid: int, injection_id: str) -> bool:
    """The process is the listener of this injection (not a later process that reused the pid)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc to ask: trust the pid file (the listener also stops itself at its TTL)
    try:
        return injection_id.encode() in cmdline.read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child, so it does not linger as a zombie
        if done:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ListeningPort(Fault):
    """Open a listening TCP port, as an unexpected service would, until rollback (or its TTL)."""

    name: ClassVar[str] = "listening_port"
    summary: ClassVar[str] = (
        "An unexpected service listening on host:port (its own process, stopped on rollback)."
    )
    params: ClassVar[type[FaultParams]] = ListeningPortParams
    undo: ClassVar[type[Undo]] = ListeningPortUndo

    def targets(self, target: str, params: FaultParams, context: RunContext) -> tuple[Target, ...]:
        """The host and the port."""
        host, port = host_port(target)
        return (Target("host", host), Target("port", str(port), host))

    def plan(self, target: str, params: FaultParams, context: RunContext) -> Undo:
        """Where the listener will write its pid."""
        host, port = host_port(target)
        pidfile = context.state_folder / f"{context.injection_id}-listener.pid"
        return ListeningPortUndo(
            host=host, port=port, pidfile=str(pidfile), injection_id=context.injection_id
        )

    def inject(self, target: str, params: FaultParams, undo: Undo, context: RunContext) -> Mapping[str, str]:
        """Start the listener in a new session (Ctrl-C on the runner does not reach it) and wait until it listens."""
        undo, params = narrow(undo, ListeningPortUndo), narrow(params, ListeningPortParams)
        if port_open(undo.host, undo.port, 0.2):
            raise FaultError(f"{undo.host}:{undo.port} is already listening; choose a free port")
        banner = f"{params.banner} {undo.injection_id}"
        script = str(Path(__file__).with_name("listener.py"))
        command = [sys.executable, "-I", "-S", script, undo.host, str(undo.port)]
        command += [undo.pidfile, f"{context.ttl:.3f}", banner]
        process = subprocess.Popen(  # noqa: S603 - our own module, with arguments we built
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        end = time.monotonic() + _START_TIMEOUT
        while not Path(undo.pidfile).exists():
            if process.poll() is not None:
                reason = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
                raise FaultError(f"the listener on {undo.host}:{undo.port} did not start: {reason}")
            if time.monotonic() > end:
                raise FaultError(
                    f"the listener on {undo.host}:{undo.port} did not start in {_START_TIMEOUT:.0f} s"
                )
            time.sleep(0.002)
        if process.stderr is not None:
            process.stderr.close()
        return {"host": undo.host, "port": str(undo.port), "pid": str(process.pid)}

    def rollback(self, undo: Undo) -> str:
        """Stop the listener (SIGTERM, then SIGKILL) and wait until the port is closed."""
        undo = narrow(undo, ListeningPortUndo)
        pidfile = Path(undo.pidfile)
        if not pidfile.exists():
            return ""
        pid = int(pidfile.read_text().strip() or 0)
        done = ""
        if pid > 0 and _alive(pid) and _is_ours(pid, undo.injection_id):
            os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + 5.0
            while _alive(pid):
                if time.monotonic() > end:
                    os.kill(pid, signal.SIGKILL)
                    end = time.monotonic() + 5.0
                time.sleep(0.005)
            done = f"stopped the listener on {undo.host}:{undo.port} (pid {pid})"
        end = time.monotonic() + 5.0
        while port_open(undo.host, undo.port, 0.2) and time.monotonic() < end:
            time.sleep(0.01)
        pidfile.unlink(missing_ok=True)
        return done
