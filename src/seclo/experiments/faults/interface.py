"""The fault interface: a reversible change to the system, described by a serialisable undo record.

A fault is injected in three steps so that a run killed at any moment can be rolled back:

1. `plan` computes the undo record without touching anything;
2. the runner writes the record to the state file;
3. `inject` makes the change.

`rollback(undo)` must be idempotent and must work from the record alone, in another process (that is what
`seclo experiment recover` does). It undoes only what the fault made: when the target was changed again after
the injection (someone edited the file), it keeps the current state and raises `RollbackConflictError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from seclo.errors import ExperimentError
from seclo.experiments.context import RunContext
from seclo.experiments.targets import Target

__all__ = ["Fault", "FaultError", "FaultParams", "RollbackConflictError", "Undo", "narrow"]

T = TypeVar("T", bound=BaseModel)


class FaultError(ExperimentError):
    """A fault could not be injected or rolled back."""


class RollbackConflictError(FaultError):
    """The target was changed after the injection, so rollback kept it as it is now.

    Nothing is left for `seclo experiment recover` to do: the message says what was kept, where the original
    was saved and what a person must merge by hand. The run and `recover` report it and exit 1.
    """


class FaultParams(BaseModel):
    """Base of a fault's parameters as written in an experiment file; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Undo(BaseModel):
    """Base of a fault's undo record: everything rollback needs, as JSON (never a secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Fault(ABC):
    """A security fault that can be injected and rolled back.

    Class attributes:
        name: the `fault.type` experiment files use.
        summary: one line for docs/experiments.md.
        params: the pydantic model of `fault.parameters`.
        undo: the pydantic model of its undo record.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    params: ClassVar[type[FaultParams]] = FaultParams
    undo: ClassVar[type[Undo]] = Undo

    @abstractmethod
    def targets(self, target: str, params: FaultParams, context: RunContext) -> tuple[Target, ...]:
        """Everything the fault would touch, for the allowlist check.

        Raises:
            ValueError: `target` is not a target this fault understands (the message says what is).
        """

    @abstractmethod
    def plan(self, target: str, params: FaultParams, context: RunContext) -> Undo:
        """The undo record for this injection, computed without touching anything."""

    @abstractmethod
    def inject(self, target: str, params: FaultParams, undo: Undo, context: RunContext) -> Mapping[str, str]:
        """Make the change; return facts about it (`${injection.<key>}` in probes, and the journal).

        Raises:
            FaultError: the change could not be made (what was done is still undone by rollback).
        """

    def load_undo(self, data: Mapping[str, Any]) -> Undo:
        """Read an undo record back from a state file."""
        return self.undo.model_validate(dict(data))

    @abstractmethod
    def rollback(self, undo: Undo) -> str:
        """Undo the change if it is there; say what was done ("" when there was nothing to undo).

        Raises:
            RollbackConflictError: the target was changed after the injection; it was kept as it is.
        """


def narrow(value: BaseModel, model: type[T]) -> T:
    """`value` as a fault's own parameter or undo model.

    Raises:
        TypeError: the caller passed another fault's model (a programming error).
    """
    if not isinstance(value, model):
        raise TypeError(f"expected {model.__name__}, got {type(value).__name__}")
    return value
