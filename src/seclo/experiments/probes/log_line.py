"""`log_line`: a file gains a line matching a pattern, considering only what was written after the injection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from seclo.experiments.context import RunContext
from seclo.experiments.probes.interface import Observation, Probe, ProbeParams, narrow

__all__ = ["LogLine", "LogLineParams"]


class LogLineParams(ProbeParams):
    """Arguments of `log_line`."""

    path: str
    pattern: str


@dataclass(frozen=True, slots=True)
class _Offset:
    inode: int
    size: int


def _offset(path: Path) -> _Offset:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return _Offset(0, 0)
    return _Offset(stat.st_ino, stat.st_size)


class LogLine(Probe):
    """Search the lines appended to a file since the baseline (a rotated or truncated file is read whole)."""

    name: ClassVar[str] = "log_line"
    summary: ClassVar[str] = (
        "A log or file gains a line matching a regular expression, written after the injection."
    )
    params: ClassVar[type[ProbeParams]] = LogLineParams

    def baseline(self, params: ProbeParams, context: RunContext) -> object:
        """The file's size (and identity) just before the injection."""
        return _offset(context.path(narrow(params, LogLineParams).path))

    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """Read what was appended and search it line by line."""
        p = narrow(params, LogLineParams)
        path = context.path(p.path)
        start = baseline if isinstance(baseline, _Offset) else _Offset(0, 0)
        now = _offset(path)
        if now.size == 0 and now.inode == 0:
            return Observation(False, f"{path} does not exist")
        begin = start.size if now.inode == start.inode and now.size >= start.size else 0
        with path.open("rb") as handle:
            handle.seek(begin)
            new = handle.read()
        pattern = re.compile(p.pattern)
        for line in new.decode("utf-8", errors="replace").splitlines():
            if pattern.search(line):
                return Observation(True, f"{path}: {line}", line)
        return Observation(False, f"{path}: no new line matches {p.pattern!r}")
