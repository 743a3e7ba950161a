"""Risk charts: loss exceedance curves on log-log axes and log-scale histograms of annual loss.

Both compare several distributions on one set of axes (security against outages, before against after a
treatment): the same axes make "rare but large" and "frequent but smaller" visible at a glance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from matplotlib.ticker import FuncFormatter, PercentFormatter

from seclo.report.charts import COLOURS, legend_above, new_chart, to_svg
from seclo.risk.summary import Exceedance
from seclo.risk.tolerance import Tolerance

__all__ = ["Distribution", "exceedance_chart", "histogram_chart", "money", "shared_edges"]

Floats = npt.NDArray[np.float64]
_PALETTE = (COLOURS["bad"], COLOURS["line"], COLOURS["warn"], COLOURS["good"], COLOURS["muted"])
_STYLES = ("-", "--", "-.", ":", "-")
HISTOGRAM_BINS = 60


@dataclass(frozen=True, slots=True)
class Distribution:
    """Simulated annual losses under a label (the exceedance curve of the same losses, precomputed)."""

    label: str
    losses: Floats
    exceedance: Exceedance


def money(value: float) -> str:
    """A compact amount: 950, 12k, 3.4M, 1.2B."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _money_formatter() -> FuncFormatter:
    return FuncFormatter(lambda value, _: money(value))


def exceedance_chart(
    distributions: Sequence[Distribution], chart_id: str, title: str, tolerance: Tolerance | None = None
) -> str | None:
    """P(annual loss > x) against x, both on log scales, with the risk tolerance curve if one is given;
    None when no distribution has a loss."""
    curves = [d for d in distributions if d.exceedance.loss.size]
    if not curves:
        return None
    chart = new_chart(height=3.6)
    axes = chart.axes
    for i, d in enumerate(curves):
        keep = d.exceedance.probability > 0
        axes.plot(
            d.exceedance.loss[keep],
            d.exceedance.probability[keep],
            color=_PALETTE[i % len(_PALETTE)],
            linestyle=_STYLES[i % len(_STYLES)],
            linewidth=1.8,
            label=d.label,
        )
    if tolerance is not None:
        axes.plot(
            tolerance.loss,
            tolerance.probability,
            color=COLOURS["text"],
            linestyle=":",
            linewidth=2.0,
            marker="o",
            markersize=3,
            label=f"risk tolerance ({tolerance.name})",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(_money_formatter())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value * 100:.3g}%"))
    axes.set_xlabel("annual loss (log scale)")
    axes.set_ylabel("chance a year loses more")
    legend_above(axes)
    return to_svg(chart, chart_id, title)


def shared_edges(distributions: Sequence[Distribution]) -> Floats | None:
    """Log-spaced bin edges covering every distribution's years with a loss (None: no loss anywhere)."""
    positive = [d.losses[d.losses > 0] for d in distributions]
    if not any(p.size for p in positive):
        return None
    low = min(float(p.min()) for p in positive if p.size)
    high = max(float(p.max()) for p in positive if p.size)
    if high <= low:
        return np.array([low / 2, low * 2])
    edges: Floats = np.geomspace(low, high * 1.0001, HISTOGRAM_BINS + 1)
    return edges


def histogram_chart(
    distribution: Distribution, edges: Floats, colour_index: int, chart_id: str, title: str
) -> str | None:
    """A histogram of the years with a loss on log-spaced `edges`, as shares of those years.

    Years without any loss cannot sit on a log axis; the legend states their share instead. Charts drawn
    with the same edges line up side by side.
    """
    values = distribution.losses[distribution.losses > 0]
    if not values.size:
        return None
    counts, _ = np.histogram(values, bins=edges)
    none = 1 - values.size / distribution.losses.size
    chart = new_chart(width=5.2, height=3.4)
    chart.figure.subplots_adjust(left=0.15, right=0.97, top=0.86, bottom=0.17)
    axes = chart.axes
    colour = _PALETTE[colour_index % len(_PALETTE)]
    axes.stairs(counts / values.size, edges, color=colour, fill=True, alpha=0.35)
    axes.stairs(
        counts / values.size,
        edges,
        color=colour,
        linewidth=1.4,
        label=f"{distribution.label}: {none:.0%} of years without loss",
    )
    axes.set_xscale("log")
    axes.set_xlim(float(edges[0]), float(edges[-1]))
    axes.xaxis.set_major_formatter(_money_formatter())
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    axes.set_xlabel("annual loss (log scale)")
    axes.set_ylabel("share of years with a loss")
    legend_above(axes)
    return to_svg(chart, chart_id, title)
