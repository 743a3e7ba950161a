"""The probe interface: a read-only check of the system, answering yes or no with evidence.

Detection and remediation probes are polled. `baseline` is taken just before the injection, so a probe can
tell what happened after it (a log line written after the injection, not before).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from seclo.experiments.context import RunContext

__all__ = ["Observation", "Probe", "ProbeParams", "narrow"]

P = TypeVar("P", bound=BaseModel)


class ProbeParams(BaseModel):
    """Base of a probe's arguments as written in an experiment file; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Observation:
    """What a probe saw.

    Attributes:
        ok: the condition holds (detected, remediated, in the steady state).
        detail: one line for the journal and the terminal.
        value: the evidence as JSON-compatible data (a matched line, a status code).
    """

    ok: bool
    detail: str
    value: Any = None


class Probe(ABC):
    """A read-only check.

    Class attributes:
        name: the `probe` name of a `seclo` provider in experiment files.
        summary: one line for docs/experiments.md.
        params: the pydantic model of its arguments.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    params: ClassVar[type[ProbeParams]] = ProbeParams

    def baseline(self, params: ProbeParams, context: RunContext) -> object:
        """What the probe needs to remember from just before the injection (nothing by default)."""
        return None

    @abstractmethod
    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """Look once."""


def narrow(params: BaseModel, model: type[P]) -> P:
    """`params` as the probe's own argument model.

    Raises:
        TypeError: the caller passed another probe's arguments (a programming error).
    """
    if not isinstance(params, model):
        raise TypeError(f"expected {model.__name__}, got {type(params).__name__}")
    return params
