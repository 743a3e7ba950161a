"""Risk tolerance: the chance of an annual loss above each amount that the organisation accepts.

A RiskTolerance document in the workspace's risk/ folder lists points (loss, probability), read as a curve
on log-log axes, like a loss exceedance curve. The portfolio is within tolerance when its exceedance curve
stays at or below that curve wherever the tolerance says something (between its first and last loss).

    apiVersion: seclo/v1
    kind: RiskTolerance
    metadata: {name: board-appetite}
    spec:
      points:
        - {loss: 1.0e6, probability: 0.10}   # a $1M year at most once in 10 years
        - {loss: 1.0e7, probability: 0.02}
        - {loss: 1.0e8, probability: 0.002}
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from seclo.risk.summary import Exceedance

__all__ = ["Tolerance", "ToleranceBreach", "ToleranceFile", "check_tolerance"]

Floats = npt.NDArray[np.float64]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TolerancePoint(_Strict):
    """At most `probability` chance a year that the loss exceeds `loss`."""

    loss: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    probability: Annotated[float, Field(gt=0, lt=1)]


class ToleranceSpec(_Strict):
    """The tolerance curve's points, losses increasing and probabilities not increasing."""

    description: str | None = None
    points: list[TolerancePoint] = Field(min_length=2)

    @model_validator(mode="after")
    def _monotone(self) -> ToleranceSpec:
        losses = [p.loss for p in self.points]
        chances = [p.probability for p in self.points]
        if any(b <= a for a, b in itertools.pairwise(losses)):
            raise ValueError("expected points with increasing losses")
        if any(b > a for a, b in itertools.pairwise(chances)):
            raise ValueError("expected probabilities that do not increase with the loss")
        return self


class ToleranceMetadata(_Strict):
    """metadata: the tolerance's name."""

    name: Annotated[str, Field(min_length=1)]


class ToleranceFile(_Strict):
    """A RiskTolerance document."""

    api_version: Literal["seclo/v1"] = Field(alias="apiVersion")
    kind: Literal["RiskTolerance"]
    metadata: ToleranceMetadata
    spec: ToleranceSpec


@dataclass(frozen=True, slots=True)
class Tolerance:
    """A tolerance curve: losses and the largest acceptable P(annual loss > loss) at each."""

    name: str
    loss: Floats
    probability: Floats

    def tolerated(self, loss: Floats) -> Floats:
        """The tolerated exceedance probability at each loss (log-log interpolation; NaN outside its range)."""
        inside = (loss >= self.loss[0]) & (loss <= self.loss[-1])
        values = np.exp(
            np.interp(
                np.log(np.clip(loss, self.loss[0], self.loss[-1])),
                np.log(self.loss),
                np.log(self.probability),
            )
        )
        return np.where(inside, values, np.nan)

    @classmethod
    def from_file(cls, doc: ToleranceFile) -> Tolerance:
        """The tolerance a validated document describes."""
        points = doc.spec.points
        return cls(
            doc.metadata.name,
            np.array([p.loss for p in points]),
            np.array([p.probability for p in points]),
        )


@dataclass(frozen=True, slots=True)
class ToleranceBreach:
    """Where the exceedance curve is furthest above the tolerance: at `loss`, `probability` > `tolerated`."""

    loss: float
    probability: float
    tolerated: float


def check_tolerance(tolerance: Tolerance, curve: Exceedance) -> ToleranceBreach | None:
    """The worst point (largest ratio) where `curve` is above `tolerance`, or None when it never is.

    Between the curve's grid points the exceedance probability is a step function, so the check also
    looks at the tolerance's own points.
    """
    if not curve.loss.size:
        return None
    grid = np.union1d(curve.loss, tolerance.loss)
    # P(loss > x) at each grid point from the curve: the value at the last curve point at or below x.
    index = np.searchsorted(curve.loss, grid, side="right") - 1
    chance = np.where(index >= 0, curve.probability[np.clip(index, 0, None)], curve.probability[0])
    allowed = tolerance.tolerated(grid)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isnan(allowed), 0.0, chance / allowed)
    worst = int(np.argmax(ratio))
    if ratio[worst] <= 1.0:
        return None
    return ToleranceBreach(float(grid[worst]), float(chance[worst]), float(allowed[worst]))
