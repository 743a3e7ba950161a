"""What a treatment is worth: expected loss avoided net of its cost, and whether anyone would ever see it.

Before and after are simulated with common random numbers (seclo.risk.simulate), so their difference per
year carries only the treatment's effect and its standard error is small. Visibility is a different
question: in the one world that happens, would N years with the treatment show a lower total loss than N
years without it? That compares independent histories, so it uses disjoint halves of the simulated years
cut into blocks of N. For rare, large losses the answer stays near a coin toss for decades: the treatment
is worth its cost long before its effect is visible in the organisation's own record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["HORIZONS", "SEE_PROBABILITY", "TreatmentValue", "treatment_value"]

Floats = npt.NDArray[np.float64]
HORIZONS = (1, 5, 10, 25, 50, 100, 250)
# "Visible": the treated history has the lower total loss in at least this share of paired histories.
SEE_PROBABILITY = 0.9
# A horizon needs at least this many independent pairs of histories to be estimated.
MIN_BLOCKS = 20


@dataclass(frozen=True, slots=True)
class TreatmentValue:
    """A treatment against the baseline.

    Attributes:
        loss_avoided: mean annual loss before minus after (common random numbers).
        loss_avoided_se: its Monte Carlo standard error.
        net_benefit: loss avoided minus the treatment's annual cost.
        return_on_cost: loss avoided per unit of cost (None when it costs nothing).
        visibility: (years N, P(N treated years lose less in total than N untreated years)); horizons with too
            few simulated histories are left out.
        years_to_see: the first horizon at which that probability reaches SEE_PROBABILITY (None: not within the
            horizons simulated).
    """

    treatment: str
    annual_cost: float
    mean_before: float
    mean_after: float
    loss_avoided: float
    loss_avoided_se: float
    net_benefit: float
    return_on_cost: float | None
    visibility: tuple[tuple[int, float], ...]
    years_to_see: int | None


def _visibility(before: Floats, after: Floats, years: int) -> float | None:
    half = before.size // 2
    blocks = half // years
    if blocks < MIN_BLOCKS:
        return None
    untreated = before[: blocks * years].reshape(blocks, years).sum(axis=1)
    treated = after[half : half + blocks * years].reshape(blocks, years).sum(axis=1)
    return float(np.mean(treated < untreated))


def treatment_value(name: str, before: Floats, after: Floats, annual_cost: float) -> TreatmentValue:
    """Value the treatment `name` from paired simulated years `before` and `after` (same random numbers)."""
    difference = before - after
    runs = difference.size
    avoided = float(difference.mean())
    se = float(difference.std(ddof=1) / math.sqrt(runs)) if runs > 1 else math.nan
    visibility = tuple(
        (years, p) for years in HORIZONS if (p := _visibility(before, after, years)) is not None
    )
    seen = next((years for years, p in visibility if p >= SEE_PROBABILITY), None)
    return TreatmentValue(
        treatment=name,
        annual_cost=annual_cost,
        mean_before=float(before.mean()),
        mean_after=float(after.mean()),
        loss_avoided=avoided,
        loss_avoided_se=se,
        net_benefit=avoided - annual_cost,
        return_on_cost=avoided / annual_cost if annual_cost > 0 else None,
        visibility=visibility,
        years_to_see=seen,
    )
