"""Report sections for `seclo analyze ... --html`: Kaplan-Meier curves, the SLA burn-down, KPI histograms on a
log scale, DORA tables and the delivery-against-security scatter, on seclo's HTML page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from seclo import __version__
from seclo.analytics.dora import DoraResult
from seclo.analytics.dora_levels import METRICS, TABLES
from seclo.analytics.kpi import KpiResult
from seclo.analytics.persistence import PersistenceResult, days_or_inf
from seclo.analytics.sla import SlaResult
from seclo.analytics.together import TeamPerformance, has_value
from seclo.report.charts import COLOURS, legend_above, new_chart, percent_axis, time_axis, to_svg
from seclo.report.html import Cell, esc, render_page, table, write_page
from seclo.report.interface import Section

__all__ = [
    "DoraSection",
    "KpiSection",
    "PersistenceSection",
    "SlaSection",
    "TogetherSection",
    "write_analytics_report",
]

_PALETTE = ("#1f4e79", "#cf222e", "#bc4c00", "#1a7f37", "#8250df", "#6e7781", "#0a7ea4", "#953800")
_STYLES = ("-", "--", "-.", ":")


def _figure(svg: str, caption: str) -> str:
    return f'<figure class="chart">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


def _num(value: float, digits: int = 1) -> str:
    return "" if not has_value(value) else f"{value:,.{digits}f}"


class PersistenceSection(Section):
    """Kaplan-Meier curves per dimension and the times to close 25/50/75%."""

    anchor = "persistence"
    title = "Flaw persistence (Kaplan-Meier)"

    def __init__(self, result: PersistenceResult) -> None:
        self.result = result

    def _chart(self, dimension: str) -> str:
        chart = new_chart(10.0, 3.4)
        for i, c in enumerate(self.result.by(dimension)):  # type: ignore[arg-type]
            colour, style = _PALETTE[i % len(_PALETTE)], _STYLES[i // len(_PALETTE) % len(_STYLES)]
            chart.axes.step(c.times, c.survival, where="post", color=colour, linestyle=style, label=c.group)
            if dimension == "all":
                chart.axes.fill_between(c.times, c.lower, c.upper, step="post", color=colour, alpha=0.15)
        chart.axes.set_ylim(0, 1.02)
        percent_axis(chart.axes)
        chart.axes.set_xlabel("days since the finding was opened")
        chart.axes.set_ylabel("still open")
        legend_above(chart.axes)
        return to_svg(chart, f"km-{dimension}", f"Share of findings still open by {dimension}")

    def html(self) -> str:
        r = self.result
        rows: list[tuple[Sequence[Cell], str]] = [
            (
                (
                    esc(c.dimension),
                    esc(c.group),
                    (f"{c.findings:,}", "num"),
                    (f"{c.censored:,}", "num"),
                    *(
                        (f"{days_or_inf(q.value)} ({days_or_inf(q.lower)}-{days_or_inf(q.upper)})", "num")
                        for q in c.quantiles
                    ),
                ),
                "",
            )
            for c in r.curves
        ]
        head: list[Cell] = ["dimension", "group", ("findings", "num"), ("still open", "num")]
        head += [(f"days to close {int(s * 100)}% (95% CI)", "num") for s in (0.25, 0.5, 0.75)]
        figures = "".join(
            _figure(self._chart(d), f"Kaplan-Meier survival by {d}; open findings are censored.")
            for d in ("all", "severity", "criticality", "scan_frequency")
            if r.by(d)
        )
        note = (
            f'<p class="meta">Evaluated at {esc(f"{r.at:%Y-%m-%d %H:%M}")} UTC; {r.not_counted:,} findings '
            f"marked false positive or accepted are not counted; {r.invalid:,} closed before opening.</p>"
        )
        return note + f'<div class="figures">{figures}</div>' + table(head, rows)


class SlaSection(Section):
    """Per-severity SLA figures, the burn-down chart and the longest-overdue findings."""

    anchor = "sla"
    title = "Patch SLA"

    def __init__(self, result: SlaResult) -> None:
        self.result = result

    def html(self) -> str:
        r = self.result
        bd = r.burn_down
        chart = new_chart()
        x = np.array(bd.times, dtype="datetime64[us]")
        chart.axes.stackplot(
            x,
            bd.past_sla,
            bd.within_sla,
            colors=[COLOURS["bad"], COLOURS["line"]],
            alpha=0.75,
            labels=["open past SLA", "open within SLA"],
        )
        time_axis(chart.axes, bd.times[0], bd.times[-1])
        chart.axes.set_ylabel("open findings")
        legend_above(chart.axes)
        svg = to_svg(chart, "sla-burn-down", "Open findings within and past their SLA over time")
        rows: list[tuple[Sequence[Cell], str]] = [
            (
                (
                    esc(s.severity),
                    ("" if s.sla_days is None else str(s.sla_days), "num"),
                    (f"{s.findings:,}", "num"),
                    (f"{s.within_sla:,}", "num"),
                    (f"{s.closed_late:,}", "num"),
                    (f"{s.open_past_sla:,}", "num"),
                    (f"{s.open_within_sla:,}", "num"),
                    ("" if math.isnan(s.within_share) else f"{s.within_share:.1%}", "num"),
                ),
                "",
            )
            for s in r.severities
        ]
        head: list[Cell] = ["severity", ("SLA days", "num"), ("findings", "num"), ("fixed in SLA", "num")]
        head += [("fixed late", "num"), ("open past SLA", "num"), ("open in SLA", "num"), ("in SLA", "num")]
        overdue: list[tuple[Sequence[Cell], str]] = [
            (
                (
                    esc(o.finding_id),
                    esc(o.asset_id),
                    esc(o.vuln_id),
                    esc(o.severity),
                    (f"{o.age_days:.1f}", "num"),
                    (f"{o.overdue_days:.1f}", "num"),
                ),
                "",
            )
            for o in r.overdue
        ]
        return (
            _figure(svg, "Backlog of open findings, split by whether their SLA has passed.")
            + table(head, rows)
            + f"<h3>Past SLA now: {r.overdue_total:,} findings (longest overdue first)</h3>"
            + table(
                ["finding", "asset", "vulnerability", "severity", ("age days", "num"), ("days past", "num")],
                overdue,
            )
            + f'<p class="note">Reopened findings: {esc(r.restart_rule)}</p>'
        )


class KpiSection(Section):
    """Histograms on a log scale and the summary of each incident KPI."""

    anchor = "kpi"
    title = "Incident KPIs (MTTD, MTTA, MTTR)"

    def __init__(self, result: KpiResult) -> None:
        self.result = result

    def _chart(self, kind: str) -> str:
        chart = new_chart(10.0, 3.2)
        for i, d in enumerate(self.result.distributions):
            if d.kind != kind or d.count == 0:
                continue
            chart.axes.stairs(
                d.bin_counts, d.bin_edges, color=_PALETTE[i % 3], linewidth=1.6, label=d.measure
            )
        chart.axes.set_xscale("log")
        chart.axes.set_xlabel("minutes (log scale)")
        chart.axes.set_ylabel("incidents")
        legend_above(chart.axes)
        return to_svg(chart, f"kpi-{kind}", f"Distribution of {kind} incident times, log scale")

    def html(self) -> str:
        rows: list[tuple[Sequence[Cell], str]] = [
            (
                (
                    esc(d.kind),
                    esc(d.measure),
                    (f"{d.count:,}", "num"),
                    (f"{d.pending:,}", "num"),
                    (_num(d.median), "num"),
                    (_num(d.p90), "num"),
                    (_num(d.median_fit), "num"),
                    (_num(d.sdlog, 2), "num"),
                ),
                "",
            )
            for d in self.result.distributions
        ]
        head: list[Cell] = ["kind", "measure", ("n", "num"), ("pending", "num"), ("median min", "num")]
        head += [("p90 min", "num"), ("lognormal median", "num"), ("sdlog", "num")]
        figures = "".join(
            _figure(self._chart(k), f"{k}: durations on log-spaced bins (a quarter decade each).")
            for k in ("security", "outage")
            if any(d.kind == k and d.count for d in self.result.distributions)
        )
        return f'<div class="figures">{figures}</div>' + table(head, rows)


class DoraSection(Section):
    """DORA figures and levels per scope, with the thresholds used."""

    anchor = "dora"
    title = "DORA delivery metrics"

    def __init__(self, result: DoraResult) -> None:
        self.result = result

    def html(self) -> str:
        r = self.result
        rows = []
        for f in r.figures:
            levels = f.levels(r.table)
            rows.append(
                (
                    (
                        esc(f.scope),
                        esc(f.key),
                        (f"{f.deployments:,}", "num"),
                        (f"{_num(f.deployment_frequency, 2)} {levels['deployment_frequency'] or ''}", "num"),
                        (f"{_num(f.lead_time_hours)} {levels['lead_time'] or ''}", "num"),
                        (
                            f"{_num(f.change_failure_rate * 100)}% {levels['change_failure_rate'] or ''}",
                            "num",
                        ),
                        (f"{_num(f.time_to_restore_hours)} {levels['time_to_restore'] or ''}", "num"),
                        (f"{_num(f.rework_rate * 100)}%", "num"),
                    ),
                    "",
                )
            )
        head: list[Cell] = ["scope", "key", ("deploys", "num"), ("per day", "num"), ("lead time h", "num")]
        head += [("change failure", "num"), ("restore h", "num"), ("rework", "num")]
        bounds: list[tuple[Sequence[Cell], str]] = [
            ((esc(m), esc(t.level), esc(t.text), (f"{t.bound:.4g}", "num")), "")
            for m in METRICS
            for t in TABLES[r.table][m]
        ]
        months = r.by("month")
        chart = new_chart(10.0, 3.0)
        chart.axes.bar(
            [f.key for f in months], [f.deployment_frequency for f in months], color=COLOURS["line"]
        )
        rates = [f.change_failure_rate for f in months]
        twin = chart.axes.twinx()
        twin.plot(
            [f.key for f in months], rates, color=COLOURS["bad"], marker="o", label="change failure rate"
        )
        twin.set_ylim(0, max([0.05, *(v for v in rates if has_value(v))]) * 1.2)
        percent_axis(twin)
        chart.axes.set_ylabel("deployments per day (bars)")
        twin.set_ylabel("change failure rate (line)")
        svg = to_svg(chart, "dora-months", "Deployments per day and change failure rate per month")
        return (
            _figure(svg, "Per month: production deployments per day (bars) and change failure rate (line).")
            + f'<p class="meta">Thresholds: Accelerate State of DevOps {esc(r.table)}; incidents of kind '
            f"{esc(r.incident_kind)} linked within {r.link_window.total_seconds() / 3600:g} hours.</p>"
            + table(head, rows)
            + "<h3>Thresholds</h3>"
            + table(["metric", "level", "published", ("bound", "num")], bounds)
        )


class TogetherSection(Section):
    """Per team: delivery next to security, with a scatter across teams."""

    anchor = "together"
    title = "Delivery and security together"

    def __init__(self, teams: Sequence[TeamPerformance]) -> None:
        self.teams = tuple(teams)

    def html(self) -> str:
        chart = new_chart(10.0, 3.6)
        for t in self.teams:
            if has_value(t.deployment_frequency) and has_value(t.flaw_half_life_days):
                chart.axes.scatter(t.deployment_frequency, t.flaw_half_life_days, color=COLOURS["line"], s=30)
                chart.axes.annotate(t.team, (t.deployment_frequency, t.flaw_half_life_days), fontsize=8.5)
        chart.axes.set_xlabel("deployments per day")
        chart.axes.set_ylabel("flaw half-life (days)")
        svg = to_svg(chart, "together-scatter", "Deployment frequency against flaw half-life per team")
        rows: list[tuple[Sequence[Cell], str]] = [
            (
                (
                    esc(t.team),
                    (_num(t.deployment_frequency, 2), "num"),
                    (_num(t.lead_time_hours), "num"),
                    (_num(t.change_failure_rate * 100), "num"),
                    (_num(t.flaw_half_life_days), "num"),
                    (_num(t.within_sla_share * 100), "num"),
                    (_num(t.security_ttd_hours), "num"),
                    (_num(t.security_ttr_hours), "num"),
                ),
                "",
            )
            for t in self.teams
        ]
        head: list[Cell] = ["team", ("deploys/day", "num"), ("lead time h", "num"), ("CFR %", "num")]
        head += [("flaw half-life d", "num"), ("in SLA %", "num"), ("sec TTD h", "num"), ("sec TTR h", "num")]
        return _figure(
            svg, "Each point is a team: delivery speed against how long its flaws stay open."
        ) + table(head, rows)


def write_analytics_report(path: Path, sections: Sequence[Section], *, at: datetime, workspace: Path) -> Path:
    """Write the sections as one self-contained HTML page to `path` (atomically); returns `path`."""
    header = (
        f"<p>Evaluated at <strong>{esc(f'{at:%Y-%m-%d %H:%M}')} UTC</strong> · workspace "
        f"<code>{esc(workspace)}</code></p>"
    )
    footer = f"Made by seclo {esc(__version__)}. The figures are those of <code>seclo analyze</code>."
    write_page(path, render_page("Security performance analytics", header, sections, footer))
    return path
