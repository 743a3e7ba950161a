"""What an experiment touches, and the workspace allowlist every target must match before anything runs."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from seclo.errors import ExperimentError

__all__ = ["Allowlist", "Target", "host_port", "url_targets"]


@dataclass(frozen=True, slots=True)
class Target:
    """One thing a fault or action touches: a host, a port on a host, or a file.

    Attributes:
        kind: "host", "port" or "path".
        value: the host name or address, the port number as text, or the absolute path.
        host: for a port, the host it is on.
    """

    kind: Literal["host", "port", "path"]
    value: str
    host: str = ""

    def __str__(self) -> str:
        if self.kind == "port":
            return f"port {self.host}:{self.value}"
        return f"{self.kind} {self.value}"


def host_port(text: str) -> tuple[str, int]:
    """Split "127.0.0.1:8080" or "[::1]:8080" into host and port.

    Raises:
        ValueError: the text is not host:port with a port from 1 to 65535.
    """
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not host:port, such as 127.0.0.1:18042")
    return host, int(port)


def url_targets(url: str) -> tuple[Target, ...]:
    """The host and port an HTTP URL reaches."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (Target("host", host), Target("port", str(port), host))


def _ports(specs: tuple[str, ...]) -> list[tuple[int, int]]:
    ranges = []
    for spec in specs:
        low, _, high = spec.partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges


def _addresses(host: str) -> set[str]:
    """The addresses a host name resolves to (the name itself when it does not resolve)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            return {str(info[4][0]) for info in socket.getaddrinfo(host, None)} | {host}
        except OSError:
            return {host}
    return {host}


@dataclass(frozen=True, slots=True)
class Allowlist:
    """Hosts, port ranges and folders an experiment may touch (seclo.yaml `experiments.allow`).

    Attributes:
        hosts: host names or addresses; a name is allowed if every address it resolves to is listed.
        ports: port numbers or ranges such as "18000-18999".
        paths: absolute folders or files; a path is allowed when it is one of them or inside one.
    """

    hosts: tuple[str, ...]
    ports: tuple[str, ...]
    paths: tuple[Path, ...]

    def refusal(self, target: Target) -> str | None:
        """Why `target` is not allowed, or None when it is."""
        if target.kind == "path":
            path = Path(target.value).resolve()
            if any(path == root or path.is_relative_to(root) for root in self.paths):
                return None
            return f"{target} is outside the allowed paths ({', '.join(map(str, self.paths)) or 'none'})"
        host = target.host if target.kind == "port" else target.value
        allowed = {a for h in self.hosts for a in _addresses(h)}
        if not _addresses(host) <= allowed and host not in self.hosts:
            return f"host {host} is not in the allowed hosts ({', '.join(self.hosts) or 'none'})"
        if target.kind == "port":
            port = int(target.value)
            if not any(low <= port <= high for low, high in _ports(self.ports)):
                return f"{target} is outside the allowed ports ({', '.join(self.ports) or 'none'})"
        return None

    def check(self, targets: tuple[Target, ...]) -> None:
        """Refuse the experiment if any target is not allowed.

        Raises:
            ExperimentError: naming every refused target.
        """
        problems = [p for p in (self.refusal(t) for t in targets) if p]
        if problems:
            raise ExperimentError(
                "the experiment touches targets outside the workspace allowlist, so nothing was run: "
                + "; ".join(problems),
                tip="add them under experiments.allow in seclo.yaml if they are meant to be touched",
            )
