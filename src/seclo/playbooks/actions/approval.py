"""The `approval` action: the engine holds the run here until a person approves; running it records that."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seclo.playbooks.actions.interface import ActionContext, Prepared, Renderer, StepResult
from seclo.playbooks.model import ApprovalStep

__all__ = ["PreparedApproval", "prepare_approval"]


@dataclass(frozen=True, slots=True)
class PreparedApproval(Prepared):
    """A rendered approval step."""

    message: str

    def describe(self) -> dict[str, Any]:
        """What the approver is asked."""
        return {"approval": self.message}

    def execute(self, ctx: ActionContext) -> StepResult:
        """Reached only once approved (or in automatic mode)."""
        return StepResult(True, "approved", {"approved": True})


def prepare_approval(step: ApprovalStep, render: Renderer) -> PreparedApproval:
    """Render the message."""
    return PreparedApproval(render.text(step.message))
