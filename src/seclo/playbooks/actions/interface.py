"""The action interface: a step is rendered into a Prepared action, which describes itself and runs.

Rendering happens first so that a dry run can show exactly what would be sent, and so that the audit trail
records what was done (redacted) before it is done.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from seclo.errors import SecloError

__all__ = ["ActionContext", "ActionError", "Prepared", "Renderer", "StepResult", "clip"]


class ActionError(SecloError):
    """A step could not be prepared or failed while running."""


class Renderer(Protocol):
    """Renders a step's templates against the run's context."""

    def text(self, template: str) -> str:
        """Render one template string."""

    def url(self, template: str) -> str:
        """Render a URL template (inserted values percent-encoded)."""

    def value(self, value: Any) -> Any:
        """Render every string inside a JSON-like value."""


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What a running action may use.

    Attributes:
        run_id: the run.
        playbook: the playbook's name.
        step: the step's name.
        timeout: seconds the step may take in all (retries included).
        workspace: the workspace folder (commands run there).
        record: appends a record to the store's playbook_records (kind, subject, fields).
        redact: replaces secrets in a text; an action redacts before it cuts a text short, so no part of a
            secret is left at the cut (the engine redacts everything again, which changes nothing more).
    """

    run_id: str
    playbook: str
    step: str
    timeout: float
    workspace: Path
    record: Callable[[str, str, Mapping[str, Any]], None]
    redact: Callable[[str], str] = str


def clip(text: str, limit: int, redact: Callable[[str], str]) -> str:
    """The first `limit` characters of `text` once its secrets are redacted (redact, then truncate)."""
    return redact(text)[:limit]


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a step did.

    Attributes:
        ok: the step succeeded.
        summary: one line for people (redacted by the engine before it is shown or stored).
        values: what later steps' templates see as steps.NAME (status, stdout, json...).
        output: the raw output, recorded in the audit trail only as its SHA-256 digest.
        error: why it failed.
    """

    ok: bool
    summary: str
    values: dict[str, Any] = field(default_factory=dict)
    output: bytes = b""
    error: str | None = None

    @property
    def digest(self) -> str:
        """SHA-256 of the output."""
        return hashlib.sha256(self.output).hexdigest()


class Prepared(ABC):
    """A rendered step, ready to run."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What the step will do (for dry runs, manual prompts and the audit trail; redacted by the engine)."""

    @abstractmethod
    def execute(self, ctx: ActionContext) -> StepResult:
        """Do it. Failures are returned as a StepResult with ok False, not raised."""
