"""Error budgets per OpenSLO budgeting method, on per-slice arrays.

Every method is reduced to two per-slice arrays, a *weight* (what the slice counts for) and a *bad* amount
(how much of that weight missed the objective), so that attainment, budgets and burn rates are the same
sums for all three methods:

- Occurrences: weight = total events, bad = total - good. Attainment is good/total over the period.
- Timeslices: weight = 1 for a slice with data, bad = 1 when the slice's ratio is below timeSliceTarget.
- RatioTimeslices: weight = 1 for a slice with data, bad = 1 - the slice's ratio (attainment is the mean ratio).

A slice with no data (total 0) has weight 0 and bad 0 under every method: it is neither good nor bad, it
does not enter attainment, and it neither grants nor consumes budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from seclo.errors import ConfigError

__all__ = ["BudgetUnit", "Budgeting", "ErrorBudget", "error_budget", "slice_weights", "validate_target"]

Budgeting = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
BudgetUnit = Literal["events", "minutes", "item_minutes"]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ErrorBudget:
    """The error budget of one objective over one period, up to the evaluation time.

    Attributes:
        allowed: budget granted, (1 - target) times the weight seen, in `unit`.
        consumed: bad weight seen, in `unit`.
        remaining: allowed - consumed (negative once the objective is breached).
        consumed_fraction: consumed / allowed (NaN with no data).
        remaining_fraction: 1 - consumed_fraction (NaN with no data).
        unit: "events" for Occurrences over events; "minutes" for Timeslices and RatioTimeslices;
            "item_minutes" for Occurrences over inventory snapshots (items times minutes they were held).
    """

    allowed: float
    consumed: float
    remaining: float
    consumed_fraction: float
    remaining_fraction: float
    unit: BudgetUnit


def validate_target(target: float) -> None:
    """Reject a target outside (0, 1): a target of 1 has no budget to burn and 0 cannot be missed."""
    if not 0.0 < target < 1.0:
        raise ConfigError(f"An objective's target must be strictly between 0 and 1, not {target}.")


def slice_weights(
    good: Floats, total: Floats, budgeting: Budgeting, time_slice_target: float | None = None
) -> tuple[Floats, Floats]:
    """Per-slice (weight, bad) arrays for a budgeting method (see the module docstring)."""
    has_data = total > 0
    if budgeting == "Occurrences":
        return total.astype(np.float64), np.where(has_data, total - good, 0.0)
    ratio = np.divide(good, total, out=np.zeros_like(total, dtype=np.float64), where=has_data)
    weight = has_data.astype(np.float64)
    if budgeting == "RatioTimeslices":
        return weight, np.where(has_data, 1.0 - ratio, 0.0)
    if time_slice_target is None:
        raise ConfigError("Timeslices budgeting needs a timeSliceTarget.")
    return weight, (has_data & (ratio < time_slice_target)).astype(np.float64)


def error_budget(weight: float, bad: float, target: float, *, unit: BudgetUnit, scale: float) -> ErrorBudget:
    """The budget from summed weight and bad amount; `scale` converts one weight unit into `unit`."""
    allowed = (1.0 - target) * weight * scale
    consumed = bad * scale
    consumed_fraction = consumed / allowed if allowed > 0 else float("nan")
    return ErrorBudget(
        allowed=allowed,
        consumed=consumed,
        remaining=allowed - consumed,
        consumed_fraction=consumed_fraction,
        remaining_fraction=1.0 - consumed_fraction,
        unit=unit,
    )
