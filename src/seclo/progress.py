"""How library code reports progress without printing: the CLI passes a Reporter in."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullReporter", "Reporter"]


class Reporter(Protocol):
    """Receives progress and notes from long-running library calls."""

    def start(self, task: str, total: float | None = None) -> None:
        """Begin a task; `total` is in whatever unit `advance` uses, or None when unknown."""

    def advance(self, amount: float) -> None:
        """Move the current task forward."""

    def finish(self) -> None:
        """End the current task."""

    def note(self, message: str) -> None:
        """Tell the user something they should know (an assumption made, a file skipped)."""


class NullReporter:
    """Discards everything: the default for library callers that do not care."""

    def start(self, task: str, total: float | None = None) -> None:
        """Ignore the task."""

    def advance(self, amount: float) -> None:
        """Ignore progress."""

    def finish(self) -> None:
        """Ignore the end."""

    def note(self, message: str) -> None:
        """Ignore the note."""
