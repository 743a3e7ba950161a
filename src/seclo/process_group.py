"""Running a program in its own process group, so that stopping it stops its children too.

A shell (or any program) that starts children and is killed alone leaves them running: they go on doing what a
timed-out step was stopped for, and hold its output pipes open. Experiments' process activities and playbooks'
command steps therefore run in a process group of their own (not a new session: they keep the controlling
terminal) and are stopped with `killpg`, which reaches every process still in the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ProcessHalted", "ProcessTimedOut", "communicate"]

# How often a run with a halt event checks it (seconds).
_HALT_POLL = 0.05


class ProcessTimedOut(Exception):  # noqa: N818 - named for what happened, as subprocess.TimeoutExpired is
    """The program did not end within its limit; it and its process group were killed."""


class ProcessHalted(Exception):  # noqa: N818 - named for what happened
    """The halt event was set while the program ran; it and its process group were killed."""


def communicate(
    command: str | list[str],
    *,
    shell: bool = False,
    limit: float | None = None,
    halt: threading.Event | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = None,
) -> tuple[int, bytes, bytes]:
    """Run `command` to its end and return its exit status, stdout and stderr.

    `stdin` is inherited unless given (subprocess.DEVNULL). Its whole process group is killed (SIGKILL) past `limit` seconds, once `halt` is set, or when anything is
    raised in this thread while it runs (a signal handler stopping the caller).

    Raises:
        ProcessTimedOut: it ran past `limit`.
        ProcessHalted: `halt` was set.
        OSError, ValueError: it could not be started (not found, not executable, a NUL in an argument).
    """
    end = None if limit is None else time.monotonic() + limit
    with subprocess.Popen(  # noqa: S603 - the caller's command (a playbook's argument list, an experiment's)
        command,
        shell=shell,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0,
    ) as process:
        try:
            while True:
                left = None if end is None else max(0.0, end - time.monotonic())
                step = left if halt is None else (_HALT_POLL if left is None else min(_HALT_POLL, left))
                try:
                    out, err = process.communicate(timeout=step)
                except subprocess.TimeoutExpired:
                    if halt is not None and halt.is_set():
                        raise ProcessHalted from None
                    if end is not None and time.monotonic() >= end:
                        raise ProcessTimedOut from None
                else:
                    return process.returncode, out, err
        except BaseException:
            # Its whole process group (its own): a shell's children too, which would otherwise run on and keep
            # the pipes open.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            raise
