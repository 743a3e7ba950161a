"""The `store` action: append a record to the store's playbook_records table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from seclo.playbooks.actions.interface import ActionContext, Prepared, Renderer, StepResult
from seclo.playbooks.model import StoreStep

__all__ = ["PreparedRecord", "prepare_record"]


@dataclass(frozen=True, slots=True)
class PreparedRecord(Prepared):
    """A rendered store step."""

    kind: str
    subject: str
    fields: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        """The record that will be written."""
        return {
            "table": "playbook_records",
            "kind": self.kind,
            "subject": self.subject,
            "fields": self.fields,
        }

    def execute(self, ctx: ActionContext) -> StepResult:
        """Write the record."""
        ctx.record(self.kind, self.subject, self.fields)
        text = json.dumps(self.describe(), sort_keys=True)
        return StepResult(
            True, f"recorded {self.kind} {self.subject}".rstrip(), {"kind": self.kind}, text.encode()
        )


def prepare_record(step: StoreStep, render: Renderer) -> PreparedRecord:
    """Render the kind, subject and fields."""
    return PreparedRecord(render.text(step.kind), render.text(step.subject), render.value(step.fields))
