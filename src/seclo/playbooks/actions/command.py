"""The `command` action: run a program with an argument list, never through a shell."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any

from seclo.playbooks.actions.interface import ActionContext, Prepared, Renderer, StepResult
from seclo.playbooks.model import CommandStep
from seclo.process_group import ProcessTimedOut, communicate

__all__ = ["PreparedCommand", "prepare_command", "run_args"]

_KEEP = 64 * 1024  # characters of stdout/stderr kept for later steps' templates


def run_args(args: list[str], env: dict[str, str], ctx: ActionContext) -> StepResult:
    """Run `args` in the workspace with `env` added to seclo's environment, within the step's timeout; past it,
    the program and every child it started (its process group) are killed."""
    try:
        code, out, err = communicate(
            args, limit=ctx.timeout, cwd=ctx.workspace, env={**os.environ, **env}, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        return StepResult(False, f"{args[0]}: command not found", error=f"{args[0]}: command not found")
    except ProcessTimedOut:
        message = f"{args[0]} did not finish within {ctx.timeout:g} s and was stopped (with its children)"
        return StepResult(False, message, error=message)
    except OSError as exc:
        return StepResult(False, f"{args[0]}: {exc.strerror}", error=f"{args[0]}: {exc.strerror}")
    except ValueError as exc:  # a NUL character in an argument or variable, from a template
        message = f"{args[0]!r} cannot be started: {exc}"
        return StepResult(False, message, error=message)
    # Redact, then cut: a secret the program printed across a cut leaves no part of itself behind.
    stdout = ctx.redact(out.decode("utf-8", "replace"))
    stderr = ctx.redact(err.decode("utf-8", "replace"))
    values = {"exit_code": code, "stdout": stdout[:_KEEP], "stderr": stderr[:_KEEP]}
    output = out + err
    if code != 0:
        last = stderr.strip().splitlines()[-1:] or stdout.strip().splitlines()[-1:] or [""]
        message = f"{args[0]} exited with {code}" + (f": {last[0][:300]}" if last[0] else "")
        return StepResult(False, message, values, output, message)
    first = stdout.strip().splitlines()[:1]
    return StepResult(
        True, f"{args[0]} exited with 0" + (f": {first[0][:200]}" if first else ""), values, output
    )


@dataclass(frozen=True, slots=True)
class PreparedCommand(Prepared):
    """A rendered command step."""

    args: list[str]
    env: dict[str, str]

    def describe(self) -> dict[str, Any]:
        """The argument list and the names (not values) of the variables added."""
        return {"args": self.args, "env": sorted(self.env)}

    def execute(self, ctx: ActionContext) -> StepResult:
        """Run the command."""
        return run_args(self.args, self.env, ctx)


def prepare_command(step: CommandStep, render: Renderer) -> PreparedCommand:
    """Render the arguments and environment."""
    return PreparedCommand(
        [render.text(a) for a in step.args], {k: render.text(v) for k, v in step.env.items()}
    )
