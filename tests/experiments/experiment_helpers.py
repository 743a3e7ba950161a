"""Helpers for experiment tests: free ports, port state, file hashes, polling, and the example detector."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

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
