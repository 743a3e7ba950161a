"""Report sections for a risk simulation: the portfolio by category, and each scenario's treatments."""

from __future__ import annotations

import re

import numpy as np

from seclo.report.html import Cell, esc, table
from seclo.report.interface import Section
from seclo.report.risk_charts import Distribution, exceedance_chart, histogram_chart, money, shared_edges
from seclo.risk.portfolio import PortfolioResult, ScenarioResult
from seclo.risk.summary import LossSummary, exceedance_curve

__all__ = ["RiskOverviewSection", "RiskTreatmentSection", "risk_sections"]


def _figure(svg: str | None, caption: str) -> str:
    return (
        "" if svg is None else f'<figure class="chart">{svg}<figcaption>{esc(caption)}</figcaption></figure>'
    )


def _row(label: str, category: str, rate: str, m: LossSummary) -> list[Cell]:
    return [
        esc(label),
        esc(category),
        (esc(rate), "num"),
        (esc(money(m.mean)), "num"),
        (esc(money(m.median)), "num"),
        (esc(money(m.p95)), "num"),
        (esc(money(m.p99)), "num"),
        (esc(money(m.tvar99)), "num"),
        (esc(f"{1 - m.p_no_loss:.1%}"), "num"),
    ]


_HEADERS: list[Cell] = [
    "scenario",
    "category",
    ("events a year", "num"),
    ("mean", "num"),
    ("median", "num"),
    ("p95", "num"),
    ("1 in 100 years", "num"),
    ("mean of worst 1%", "num"),
    ("P(any loss)", "num"),
]


def _histograms(distributions: list[Distribution]) -> str:
    """Side by side, on the same log-spaced bins: how the years with a loss spread out, per category."""
    edges = shared_edges(distributions)
    if edges is None:
        return ""
    figures = [
        _figure(
            histogram_chart(d, edges, i, f"risk-histogram-{i}", f"Annual loss histogram, {d.label}"),
            f"{d.label}: annual loss of the years with a loss, on log-spaced bins.",
        )
        for i, d in enumerate(distributions)
    ]
    return f'<div class="pair">{"".join(figures)}</div>'


class RiskOverviewSection(Section):
    """Annual loss per scenario, per category and for the portfolio, with exceedance curves and histograms."""

    anchor = "risk"
    title = "Risk: annual loss"

    def __init__(self, result: PortfolioResult) -> None:
        self.result = result

    def html(self) -> str:
        """Intro, table, warnings and the two comparison charts."""
        r = self.result
        rows: list[tuple[list[Cell], str]] = [
            (
                _row(
                    s.scenario.display_name or s.scenario.name,
                    s.scenario.category,
                    f"{s.scenario.baseline.frequency.rate:.3g}",
                    s.baseline.summary,
                ),
                "",
            )
            for s in r.scenarios
        ]
        rows += [(_row(f"all {name}", name, "", m), "") for name, m in r.categories.items()]
        rows.append((_row("portfolio", "", "", r.total), "reached"))
        warnings = [f"{s.scenario.name}: {w}" for s in r.scenarios for w in s.scenario.warnings]
        warnings += [
            f"{s.scenario.name} ({v.name}): {v.check.warning}"
            for s in r.scenarios
            for v in s.variants
            if v.check.warning
        ]
        note = "".join(f'<p class="note">{esc(w)}</p>' for w in warnings)
        intro = (
            f"<p>{r.runs:,} simulated years (seed {r.seed}). Each year's loss is the sum of one lognormal loss "
            "per event, the events Poisson (docs/risk-model.md). Rare, large losses and frequent, smaller ones "
            "are compared by their whole distribution: the chance a year loses more than a given amount "
            "(exceedance) and how the years with a loss spread out.</p>"
        )
        categories = [
            Distribution(name, losses, exceedance_curve(losses)) for name, losses in r.category_losses.items()
        ]
        if len(categories) > 1 and r.category_losses:
            total = np.sum(list(r.category_losses.values()), axis=0)
            categories.append(Distribution("portfolio", total, r.total_exceedance))
        charts = ""
        if categories:
            charts = _figure(
                exceedance_chart(
                    categories, "risk-exceedance", "Loss exceedance curves by category", r.tolerance
                ),
                "Loss exceedance: the chance that a year's loss is above the amount on the x axis (log-log).",
            ) + _histograms(categories[: len(r.category_losses)])
        return f"{intro}{table(_HEADERS, rows)}{note}{_verdict(r)}{charts}"


def _verdict(r: PortfolioResult) -> str:
    """One sentence: is the portfolio within the organisation's risk tolerance?"""
    if r.tolerance is None:
        return ""
    breach = r.tolerance_breach
    if breach is None:
        return (
            f'<p class="good">Within the risk tolerance "{esc(r.tolerance.name)}": the portfolio\'s exceedance '
            "curve stays at or below it everywhere it is stated.</p>"
        )
    return (
        f'<p class="bad">Above the risk tolerance "{esc(r.tolerance.name)}": a year loses more than '
        f"{esc(money(breach.loss))} with a chance of {breach.probability:.2%}, where {breach.tolerated:.2%} "
        "is tolerated.</p>"
    )


class RiskTreatmentSection(Section):
    """A scenario's treatments: loss avoided, net of cost, and how long until the difference would show."""

    def __init__(self, result: ScenarioResult) -> None:
        self.result = result
        name = result.scenario.name
        self.anchor = "risk-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
        self.title = f"Treatments of {result.scenario.display_name or name}"

    def html(self) -> str:
        """The treatments table and before/after exceedance curves."""
        s = self.result
        rows: list[tuple[list[Cell], str]] = []
        for v in s.variants[1:]:
            value = v.value
            if value is None:
                continue
            seen = f"{value.years_to_see} years" if value.years_to_see else "not within 250 years"
            rows.append(
                (
                    [
                        esc(v.name),
                        (esc(money(value.annual_cost)), "num"),
                        (esc(f"{money(value.loss_avoided)} ± {money(2 * value.loss_avoided_se)}"), "num"),
                        (esc(money(value.net_benefit)), "num"),
                        (esc("" if value.return_on_cost is None else f"{value.return_on_cost:.1f}x"), "num"),
                        esc(seen),
                    ],
                    "good" if value.net_benefit > 0 else "",
                )
            )
        headers: list[Cell] = [
            "treatment",
            ("cost a year", "num"),
            ("loss avoided a year", "num"),
            ("net of cost", "num"),
            ("return on cost", "num"),
            "visible in the record after",
        ]
        intro = (
            "<p>Before and after share every random draw, so the loss avoided (± two standard errors) is the "
            "treatment's effect alone. \"Visible\" is when, nine times in ten, the treated organisation's own "
            "record would show a lower total loss than the untreated one over that many years.</p>"
        )
        curves = [Distribution(f"{v.name}", np.zeros(0), v.exceedance) for v in s.variants]
        chart = _figure(
            exceedance_chart(
                curves, f"{self.anchor}-exceedance", f"Exceedance before and after, {s.scenario.name}"
            ),
            "Loss exceedance of the baseline and of each treatment (log-log).",
        )
        return f"{intro}{table(headers, rows)}{chart}"


def risk_sections(result: PortfolioResult) -> list[Section]:
    """The overview, then a section per scenario that has treatments."""
    sections: list[Section] = [RiskOverviewSection(result)]
    sections += [RiskTreatmentSection(s) for s in result.scenarios if len(s.variants) > 1]
    return sections
