"""`tcp_port`: whether a TCP port accepts connections."""

from __future__ import annotations

import socket
from typing import ClassVar, Literal

from pydantic import Field

from seclo.experiments.context import RunContext
from seclo.experiments.durations import Seconds
from seclo.experiments.probes.interface import Observation, Probe, ProbeParams, narrow

__all__ = ["TcpPort", "TcpPortParams"]


class TcpPortParams(ProbeParams):
    """Arguments of `tcp_port`."""

    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    expect: Literal["open", "closed"] = "open"
    timeout: Seconds = 0.5


class TcpPort(Probe):
    """Connect to host:port; ok when its state is the expected one."""

    name: ClassVar[str] = "tcp_port"
    summary: ClassVar[str] = "A TCP port is open (accepts connections) or closed, as expected."
    params: ClassVar[type[ProbeParams]] = TcpPortParams

    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """Try one connection."""
        p = narrow(params, TcpPortParams)
        try:
            with socket.create_connection((p.host, p.port), timeout=p.timeout):
                state = "open"
        except OSError:
            state = "closed"
        return Observation(state == p.expect, f"{p.host}:{p.port} is {state}", state)
