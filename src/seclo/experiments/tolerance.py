"""Chaos Toolkit tolerances: whether a probe's value is what the steady state expects.

Same rules as chaoslib.hypothesis.within_tolerance: a bool or string must be equal; an int is compared with a
process or HTTP result's `status` (else the value); a list holds allowed statuses, a [low, high] pair, or
allowed values; `regex`, `range` and `probe` tolerances as documented by Chaos Toolkit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from seclo.experiments.model import ProbeTolerance, RangeTolerance, RegexTolerance, Tolerance

__all__ = ["default_success", "within_tolerance"]


def default_success(provider_type: str, value: Any) -> bool:
    """Success when no tolerance is written: exit 0, HTTP below 400, a seclo probe ok, a truthy Python value."""
    if provider_type in {"process", "http"} and isinstance(value, Mapping):
        status = value.get("status")
        return isinstance(status, int) and (status == 0 if provider_type == "process" else status < 400)
    return bool(value)


def _target(value: Any, target: str | None) -> Any:
    return value.get(target, value) if target and isinstance(value, Mapping) else value


def within_tolerance(  # noqa: PLR0911 - one branch per kind of Chaos Toolkit tolerance
    tolerance: Tolerance, value: Any, run_probe: Callable[[ProbeTolerance, Any], Any] | None = None
) -> bool:
    """Whether `value` is within `tolerance`; `run_probe` calls a `type: probe` tolerance with the value."""
    if isinstance(tolerance, bool):
        return bool(value == tolerance)
    if isinstance(tolerance, int | float) and not isinstance(tolerance, bool):
        if isinstance(value, Mapping) and "status" in value:
            return bool(value["status"] == tolerance)
        return bool(value == tolerance)
    if isinstance(tolerance, str):
        return bool(value == tolerance)
    if isinstance(tolerance, list):
        if isinstance(value, Mapping) and "status" in value:
            return value["status"] in tolerance
        if len(tolerance) == 2 and all(isinstance(v, int | float) for v in tolerance):
            try:
                return bool(tolerance[0] <= value <= tolerance[1])
            except TypeError:
                return False
        return value in tolerance
    if isinstance(tolerance, RegexTolerance):
        subject = _target(value, tolerance.target)
        return re.search(tolerance.pattern, subject if isinstance(subject, str) else str(subject)) is not None
    if isinstance(tolerance, RangeTolerance):
        try:
            number = Decimal(str(_target(value, tolerance.target)))
        except InvalidOperation:
            return False
        return Decimal(str(tolerance.range[0])) <= number <= Decimal(str(tolerance.range[1]))
    if isinstance(tolerance, ProbeTolerance) and run_probe is not None:
        return bool(run_probe(tolerance, value))
    return False
