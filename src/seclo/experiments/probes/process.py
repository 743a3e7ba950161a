"""`process`: a command's exit code."""

from __future__ import annotations

import subprocess
from typing import ClassVar

from pydantic import Field

from seclo.experiments.context import RunContext
from seclo.experiments.durations import Seconds
from seclo.experiments.probes.interface import Observation, Probe, ProbeParams, narrow

__all__ = ["ProcessExit", "ProcessExitParams"]


class ProcessExitParams(ProbeParams):
    """Arguments of `process`."""

    command: list[str] = Field(min_length=1)
    exit_code: int = 0
    timeout: Seconds = 10.0


class ProcessExit(Probe):
    """Run a command (no shell); ok when it exits with the expected code."""

    name: ClassVar[str] = "process"
    summary: ClassVar[str] = "A command exits with the expected code."
    params: ClassVar[type[ProbeParams]] = ProcessExitParams

    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """Run it once, in the workspace folder."""
        p = narrow(params, ProcessExitParams)
        try:
            done = subprocess.run(  # noqa: S603 - the experiment's own command, without a shell
                p.command, cwd=context.root, capture_output=True, timeout=p.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return Observation(False, f"{p.command[0]} did not finish in {p.timeout:g} s")
        except OSError as exc:
            return Observation(False, f"{p.command[0]} cannot be run: {exc}")
        return Observation(
            done.returncode == p.exit_code, f"{p.command[0]} exited {done.returncode}", done.returncode
        )
