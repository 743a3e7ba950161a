"""The `experiment` action: `seclo experiment run NAME` as a subprocess, so playbooks do not import the
experiments package. $SECLO_EXECUTABLE names the seclo program to run (default: this Python's `-m seclo`)."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from typing import Any

from seclo.playbooks.actions.command import run_args
from seclo.playbooks.actions.interface import ActionContext, Prepared, Renderer, StepResult
from seclo.playbooks.model import ExperimentStep

__all__ = ["PreparedExperiment", "prepare_experiment", "seclo_command"]


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
        return {"experiment": self.experiment, "args": ["seclo", "experiment", "run", self.experiment]}

    def execute(self, ctx: ActionContext) -> StepResult:
        """Run the experiment in the playbook's workspace."""
        args = [*seclo_command(), "experiment", "run", self.experiment, "--workspace", str(ctx.workspace)]
        result = run_args(args, {}, ctx)
        return StepResult(
            result.ok,
            f"experiment {self.experiment}: {result.summary}",
            result.values,
            result.output,
            result.error,
        )


def prepare_experiment(step: ExperimentStep, render: Renderer) -> PreparedExperiment:
    """Render the experiment's name."""
    return PreparedExperiment(render.text(step.experiment))
