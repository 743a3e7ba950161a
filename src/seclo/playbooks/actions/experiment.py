"""The `experiment` action: `seclo experiment run NAME` as a subprocess, so playbooks do not import the
experiments package. $SECLO_EXECUTABLE names the seclo program to run (default: this Python's `-m seclo`)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from seclo.playbooks.actions.interface import ActionContext, Prepared, Renderer, StepResult, clip
from seclo.playbooks.model import ExperimentStep

__all__ = ["ROLLBACK_GRACE", "PreparedExperiment", "prepare_experiment", "seclo_command"]

# Seconds an experiment stopped at its step timeout gets to roll back before it is killed.
ROLLBACK_GRACE = 60.0


def seclo_command() -> list[str]:
    """The argument list that starts seclo."""
    configured = os.environ.get("SECLO_EXECUTABLE")
    return shlex.split(configured) if configured else [sys.executable, "-m", "seclo"]


@dataclass(frozen=True, slots=True)
class PreparedExperiment(Prepared):
    """A rendered experiment step."""

    experiment: str

    def describe(self) -> dict[str, Any]:
        """The experiment to run."""
        return {
            "experiment": self.experiment,
            "args": ["seclo", "experiment", "run", self.experiment, "--format", "json"],
        }

    def execute(self, ctx: ActionContext) -> StepResult:
        """Run the experiment in the playbook's workspace. The step succeeds when the verdict is passed; past the
        step's timeout the run gets SIGTERM, so it rolls back, and is killed only if it has not ended in
        ROLLBACK_GRACE seconds more (then `seclo experiment recover` restores what it left)."""
        args = [*seclo_command(), "experiment", "run", self.experiment, "--format", "json"]
        args += ["--workspace", str(ctx.workspace)]
        try:
            process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
                args,
                cwd=ctx.workspace,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, ValueError) as exc:  # ValueError: a NUL character in the rendered name
            reason = getattr(exc, "strerror", None) or str(exc)
            return StepResult(False, f"{args[0]}: {reason}", error=f"{args[0]}: {reason}")
        stopped = ""
        try:
            out, err = process.communicate(timeout=ctx.timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            stopped = f"the experiment did not end within {ctx.timeout:g} s and was stopped (rolled back)"
            try:
                out, err = process.communicate(timeout=ROLLBACK_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
                stopped = (
                    f"the experiment did not end within {ctx.timeout:g} s and was killed during its rollback: "
                    "run `seclo experiment recover`"
                )
        stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        output = out + err
        try:
            document = json.loads(stdout)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            lines = stderr.strip().splitlines()
            problem = next((line for line in lines if not line.startswith("Tip:")), lines[0] if lines else "")
            problem = clip(problem, 300, ctx.redact)  # redact, then cut
            message = stopped or f"experiment {self.experiment}: exit {process.returncode}: {problem}"
            return StepResult(False, message, {"exit_code": process.returncode}, output, message)
        values = {
            key: document.get(key)
            for key in ("run_id", "experiment", "verdict", "reason", "timings", "journal")
        }
        values["exit_code"] = process.returncode
        summary = f"experiment {document.get('experiment')}: {document.get('verdict')} (run {document.get('run_id')})"
        if stopped:
            return StepResult(False, f"{summary}: {stopped}", values, output, stopped)
        if document.get("verdict") != "passed":
            return StepResult(False, summary, values, output, f"{summary}: {document.get('reason')}")
        return StepResult(True, summary, values, output)


def prepare_experiment(step: ExperimentStep, render: Renderer) -> PreparedExperiment:
    """Render the experiment's name."""
    return PreparedExperiment(render.text(step.experiment))
