"""A portfolio of scenarios simulated together: per scenario, per treatment, per category and in total.

Scenarios are simulated one after another (seclo.risk.simulate streams them), and only sums per simulated
year are kept across scenarios, so memory grows with the run count, not with the number of scenarios.
The JSON document (schema seclo.risk.simulation/v1) is described in docs/risk-model.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from seclo.risk.scenario import Scenario
from seclo.risk.simulate import ScenarioLosses, map_portfolio
from seclo.risk.summary import (
    AnalyticCheck,
    Exceedance,
    LossSummary,
    analytic_check,
    exceedance_curve,
    summarise,
)
from seclo.risk.tolerance import Tolerance, ToleranceBreach, check_tolerance
from seclo.risk.treatment import TreatmentValue, treatment_value

__all__ = [
    "SCHEMA",
    "PortfolioResult",
    "ScenarioResult",
    "VariantResult",
    "run_portfolio",
    "simulation_document",
]

SCHEMA = "seclo.risk.simulation/v1"
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VariantResult:
    """The baseline or one treatment of a scenario, simulated."""

    name: str
    summary: LossSummary
    check: AnalyticCheck
    exceedance: Exceedance
    value: TreatmentValue | None = None


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """A scenario's variants; `losses` (the baseline per simulated year) is kept for charts."""

    scenario: Scenario
    variants: tuple[VariantResult, ...]
    losses: Floats = field(repr=False, compare=False)

    @property
    def baseline(self) -> VariantResult:
        """The scenario without treatment."""
        return self.variants[0]


@dataclass(frozen=True, slots=True)
class PortfolioResult:
    """Every scenario, each category's total and the portfolio total (baselines summed per year)."""

    runs: int
    seed: int
    scenarios: tuple[ScenarioResult, ...]
    total: LossSummary
    total_exceedance: Exceedance
    categories: dict[str, LossSummary]
    category_losses: dict[str, Floats] = field(repr=False, compare=False)
    tolerance: Tolerance | None = None
    tolerance_breach: ToleranceBreach | None = None


def _sorted(losses: Floats) -> Floats:
    """Losses sorted; only the years with a loss need sorting (losses are never negative)."""
    positive = losses[losses > 0]
    return np.concatenate((np.zeros(losses.size - positive.size), np.sort(positive)))


def run_portfolio(
    scenarios: Sequence[Scenario],
    runs: int,
    seed: int,
    keep_losses: bool = True,
    tolerance: Tolerance | None = None,
) -> PortfolioResult:
    """Simulate `runs` years of every scenario with `seed`.

    Args:
        keep_losses: keep each scenario's baseline losses per year for charts (runs x 8 bytes each).
        tolerance: the organisation's risk tolerance, checked against the portfolio's exceedance curve.
    """
    if runs < 2:
        raise ValueError("at least 2 runs are needed")
    total = np.zeros(runs)
    by_category: dict[str, Floats] = {}
    results: list[ScenarioResult] = []

    def reduce(simulated: ScenarioLosses) -> tuple[ScenarioResult, Floats]:
        # Runs on a worker thread: summaries of every variant, keeping only the baseline's yearly losses.
        scenario = simulated.scenario
        base = simulated.losses[0]
        variants = []
        for i, variant in enumerate(scenario.variants):
            losses = simulated.losses[i]
            ordered = _sorted(losses)
            value = None if i == 0 else treatment_value(variant.name, base, losses, variant.annual_cost)
            variants.append(
                VariantResult(
                    variant.name,
                    summarise(losses, ordered),
                    analytic_check(variant.frequency, variant.severity, losses, simulated.events[i]),
                    exceedance_curve(losses, ordered=ordered),
                    value,
                )
            )
        kept = base.copy() if keep_losses else np.zeros(0)
        return ScenarioResult(scenario, tuple(variants), kept), base

    for result, base in map_portfolio(scenarios, runs, seed, reduce):
        total += base
        category = by_category.setdefault(result.scenario.category, np.zeros(runs))
        category += base
        results.append(result)
    curve = exceedance_curve(total)
    return PortfolioResult(
        runs=runs,
        seed=seed,
        scenarios=tuple(results),
        total=summarise(total),
        total_exceedance=curve,
        categories={name: summarise(losses) for name, losses in by_category.items()},
        category_losses=by_category if keep_losses else {},
        tolerance=tolerance,
        tolerance_breach=None if tolerance is None else check_tolerance(tolerance, curve),
    )


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def _summary(summary: LossSummary) -> dict[str, Any]:
    return {
        "runs": summary.runs,
        "mean": summary.mean,
        "std_error": _number(summary.std_error),
        "median": summary.median,
        "p90": summary.p90,
        "p95": summary.p95,
        "p99": summary.p99,
        "var95": summary.var95,
        "var99": summary.var99,
        "tvar95": summary.tvar95,
        "tvar99": summary.tvar99,
        "p_no_loss": summary.p_no_loss,
        "return_levels": {str(years): level for years, level in summary.return_levels.items()},
        "max": summary.maximum,
    }


def _curve(curve: Exceedance) -> dict[str, list[float]]:
    return {"loss": curve.loss.tolist(), "probability": curve.probability.tolist()}


def _variant(result: VariantResult) -> dict[str, Any]:
    check = result.check
    entry: dict[str, Any] = {
        "name": result.name,
        "summary": _summary(result.summary),
        "analytic": {
            "mean": _number(check.mean),
            "mean_z": _number(check.mean_z),
            "p_event": check.p_event,
            "p_event_simulated": check.p_event_simulated,
            "mean_relative_error": _number(check.mean_relative_error),
            "warning": check.warning,
        },
        "exceedance": _curve(result.exceedance),
        "value": None,
    }
    value = result.value
    if value is not None:
        entry["value"] = {
            "annual_cost": value.annual_cost,
            "loss_avoided": value.loss_avoided,
            "loss_avoided_se": _number(value.loss_avoided_se),
            "net_benefit": value.net_benefit,
            "return_on_cost": _number(value.return_on_cost),
            "visibility": [{"years": years, "probability": p} for years, p in value.visibility],
            "years_to_see": value.years_to_see,
        }
    return entry


def simulation_document(result: PortfolioResult) -> dict[str, Any]:
    """The JSON form of a simulation (schema seclo.risk.simulation/v1)."""
    return {
        "schema": SCHEMA,
        "runs": result.runs,
        "seed": result.seed,
        "scenarios": [
            {
                "name": s.scenario.name,
                "display_name": s.scenario.display_name,
                "category": s.scenario.category,
                "warnings": list(s.scenario.warnings),
                "variants": [_variant(v) for v in s.variants],
            }
            for s in result.scenarios
        ],
        "categories": {name: _summary(summary) for name, summary in result.categories.items()},
        "total": _summary(result.total),
        "total_exceedance": _curve(result.total_exceedance),
        "tolerance": _tolerance(result),
    }


def _tolerance(result: PortfolioResult) -> dict[str, Any] | None:
    tolerance, breach = result.tolerance, result.tolerance_breach
    if tolerance is None:
        return None
    return {
        "name": tolerance.name,
        "points": [
            {"loss": float(x), "probability": float(p)}
            for x, p in zip(tolerance.loss, tolerance.probability, strict=True)
        ],
        "within": breach is None,
        "worst": None
        if breach is None
        else {"loss": breach.loss, "probability": breach.probability, "tolerated": breach.tolerated},
    }
