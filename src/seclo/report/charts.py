"""Charts for reports: matplotlib figures rendered to inline SVG, with one house style.

Every chart is drawn on its own `Figure` with the SVG canvas (never pyplot, whose global state would leak
between charts and threads). Text stays text (svg.fonttype "none"), so the file stays small and the words
stay searchable, and output is reproducible: a fixed hash salt per chart and no date in the metadata, so the
same data gives the same bytes. Later report sections (loss exceedance curves on log axes, histograms,
Kaplan-Meier curves) build on `new_chart`, `reference_line`, `time_axis` and `to_svg`.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = [
    "COLOURS",
    "Chart",
    "legend_above",
    "new_chart",
    "percent_axis",
    "reference_line",
    "time_axis",
    "to_svg",
]

# Colours readable by people with the common colour-vision deficiencies when paired with the labels and
# line styles used beside them (never colour alone).
COLOURS = {
    "line": "#1f4e79",
    "good": "#1a7f37",
    "bad": "#cf222e",
    "warn": "#bc4c00",
    "muted": "#6e7781",
    "grid": "#d8dee4",
    "text": "#1f2328",
}

_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text as <text>, not glyph paths: a tenth of the size, and selectable
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9.0,
    "axes.edgecolor": COLOURS["muted"],
    "axes.labelcolor": COLOURS["text"],
    "xtick.color": COLOURS["text"],
    "ytick.color": COLOURS["text"],
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_ID_OR_REFERENCE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Chart:
    """A figure and its one set of axes, ready to draw on."""

    figure: Figure
    axes: Axes


def new_chart(width: float = 10.0, height: float = 3.2) -> Chart:
    """A figure of `width` x `height` inches with one set of axes in the house style."""
    with mpl.rc_context(_STYLE):
        figure = Figure(figsize=(width, height))
        # Fixed margins: constrained layout would measure every label again and cost half the render time.
        figure.subplots_adjust(left=0.08, right=0.985, top=0.88, bottom=0.17)
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        axes.grid(visible=True, color=COLOURS["grid"], linewidth=0.6)
        axes.set_axisbelow(True)
    return Chart(figure, axes)


def percent_axis(axes: Axes) -> None:
    """Label the y axis's ticks as percentages of fractions (0.95 -> 95%), with as many decimals as the
    ticks need (97.5% is never rounded to 98%)."""
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))


def time_axis(axes: Axes, start: datetime, end: datetime, label: str = "time (UTC)") -> None:
    """Show [start, end] on the x axis with compact date labels (days, hours as the span needs)."""
    locator = AutoDateLocator(minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator, show_offset=True)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)
    if end <= start:
        end = start + timedelta(hours=1)
    axes.set_xlim(np.datetime64(start, "us"), np.datetime64(end, "us"))  # type: ignore[arg-type]
    axes.set_xlabel(label)


def reference_line(axes: Axes, value: float, label: str, *, colour: str, style: str = "--") -> None:
    """A horizontal reference line (a target, a threshold) with its label in the legend."""
    axes.axhline(value, color=colour, linestyle=style, linewidth=1.2, label=label)


def legend_above(axes: Axes) -> None:
    """The legend in one row above the plot, where it never hides a line."""
    axes.legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=4, frameon=False, fontsize=8.5, borderaxespad=0.0
    )


def to_svg(chart: Chart, chart_id: str, title: str) -> str:
    """The chart as an inline <svg> element for HTML, with `title` as its accessible name.

    Args:
        chart: what to render.
        chart_id: unique within the page; it salts the ids of the SVG's clip paths and markers, so two charts
            on one page never share an id, and keeps them the same from run to run.
        title: a short description read by screen readers and shown as a tooltip.
    """
    buffer = io.StringIO()
    with mpl.rc_context({**_STYLE, "svg.hashsalt": f"seclo-{chart_id}"}):
        chart.figure.savefig(buffer, format="svg", metadata={"Date": None})
    # Drop the XML prologue and DOCTYPE (not allowed inside HTML) and the RDF metadata block.
    text = _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1), count=1)
    # matplotlib numbers its element ids per figure (axes_1, patch_1...): prefix them and every reference
    # to them with the chart's id, so charts on one page never share an id.
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    text = _ID_OR_REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    label = html.escape(title)
    head, rest = text.split(">", 1)  # the opening <svg ...> tag holds no ">" of its own
    return f'{head} role="img" aria-label="{label}"><title>{label}</title>{rest}'
