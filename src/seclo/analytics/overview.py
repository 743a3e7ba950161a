"""Every analysis at once, with the headline figures `seclo demo` prints and the report opens with.

Each analysis needs its own data (findings, incidents, production deployments); one whose data is missing is
left out (None) rather than failing the others, so a store with findings but no deployments still gets its
flaw half-life and SLA figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from seclo.analytics.dora import DoraResult, analyze_dora
from seclo.analytics.dora_levels import METRICS
from seclo.analytics.interface import Window
from seclo.analytics.kpi import KINDS, MEASURES, KpiResult, Measure, analyze_kpi
from seclo.analytics.persistence import PersistenceResult, analyze_persistence
from seclo.analytics.sla import SlaResult, analyze_sla
from seclo.analytics.together import TeamPerformance, analyze_together
from seclo.errors import InputError
from seclo.store import Store
from seclo.summary import Headline
from seclo.workspace import SlaDays

__all__ = ["AnalyticsOverview", "analyze_overview", "minutes_text"]

T = TypeVar("T")

_MEASURE_NAMES: dict[Measure, str] = {
    "time_to_detect": "MTTD",
    "time_to_acknowledge": "MTTA",
    "time_to_repair": "MTTR",
}
_DORA_NAMES = {
    "deployment_frequency": ("deployment frequency", "per day"),
    "lead_time": ("lead time for changes", "hours"),
    "change_failure_rate": ("change failure rate", ""),
    "time_to_restore": ("time to restore service", "hours"),
}


@dataclass(frozen=True, slots=True)
class AnalyticsOverview:
    """The results of every analysis over one window (None where the store has no data for it)."""

    window: Window
    persistence: PersistenceResult | None
    sla: SlaResult | None
    kpi: KpiResult | None
    dora: DoraResult | None
    teams: tuple[TeamPerformance, ...]

    def headlines(self) -> tuple[Headline, ...]:
        """Flaw half-life, SLA attainment and backlog, incident medians and the DORA four keys with levels."""
        out: list[Headline] = []
        if self.persistence is not None:
            overall = self.persistence.overall()
            q = next(q for q in overall.quantiles if q.share == 0.5)
            out.append(
                Headline(
                    "flaw half-life",
                    _days(q.value),
                    f"time to close 50% of {overall.findings:,} findings (Kaplan-Meier, {overall.censored:,}"
                    f" still open), 95% CI {_days(q.lower)} to {_days(q.upper)}",
                )
            )
        if self.sla is not None:
            total = self.sla.total()
            decided = total.within_sla + total.closed_late + total.open_past_sla
            share = "n/a" if math.isnan(total.within_share) else f"{total.within_share:.1%}"
            out.append(
                Headline("fixed within SLA", share, f"{total.within_sla:,} of {decided:,} decided findings")
            )
            out.append(
                Headline(
                    "past SLA now",
                    f"{self.sla.overdue_total:,}",
                    f"open findings past their deadline at {self.sla.at:%Y-%m-%d %H:%M}",
                )
            )
        if self.kpi is not None:
            for kind in KINDS:
                for measure in MEASURES:
                    d = self.kpi.get(kind, measure)
                    detail = f"median of {d.count:,} {kind} incidents, p90 {minutes_text(d.p90)}"
                    if d.pending:
                        detail += f", {d.pending:,} pending"
                    name = f"{_MEASURE_NAMES[measure]} {kind}"
                    out.append(Headline(name, minutes_text(d.median), detail))
        if self.dora is not None:
            overall_dora = self.dora.overall()
            levels = overall_dora.levels(self.dora.table)
            for metric in METRICS:
                name, unit = _DORA_NAMES[metric]
                value = overall_dora.value(metric)
                if math.isnan(value):
                    text = "n/a"
                elif metric == "change_failure_rate":
                    text = f"{value:.1%}"
                else:
                    text = f"{value:,.2f} {unit}"
                level = levels[metric]
                out.append(
                    Headline(
                        f"DORA {name}",
                        text if level is None else f"{text} ({level})",
                        f"{overall_dora.deployments:,} production deployments, {self.dora.table} levels",
                    )
                )
        return tuple(out)


def _days(value: float) -> str:
    return "not reached" if math.isinf(value) or math.isnan(value) else f"{value:.1f} days"


def minutes_text(minutes: float) -> str:
    """A duration in minutes for people: minutes below two hours, hours below two days, else days."""
    if math.isnan(minutes) or math.isinf(minutes):
        return "n/a"
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 2880:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _attempt(run: Callable[[], T]) -> T | None:
    try:
        return run()
    except InputError:  # this analysis's data is missing from the store: leave it out
        return None


def analyze_overview(store: Store, window: Window, sla_days: SlaDays | None = None) -> AnalyticsOverview:
    """Run persistence, SLA, KPI, DORA and the per-team view over `window`, skipping those without data."""

    return AnalyticsOverview(
        window=window,
        persistence=_attempt(lambda: analyze_persistence(store, window.at)),
        sla=_attempt(lambda: analyze_sla(store, window, sla_days)),
        kpi=_attempt(lambda: analyze_kpi(store, window)),
        dora=_attempt(lambda: analyze_dora(store, window)),
        teams=analyze_together(store, window, sla_days),
    )
