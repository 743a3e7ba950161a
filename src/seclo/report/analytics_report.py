"""Analytics in the workspace report (`seclo report`, `seclo demo`): the headline figures, then a section per
analysis that has data (persistence curves, SLA, KPI distributions, DORA, delivery and security together)."""

from __future__ import annotations

from seclo.analytics.overview import AnalyticsOverview
from seclo.report.analytics_sections import (
    DoraSection,
    KpiSection,
    PersistenceSection,
    SlaSection,
    TogetherSection,
)
from seclo.report.html import esc, table
from seclo.report.interface import Section

__all__ = ["AnalyticsHeadlineSection", "overview_sections"]


class AnalyticsHeadlineSection(Section):
    """The figures `seclo demo` prints: flaw half-life, SLA, incident medians, the DORA four keys."""

    anchor = "analytics-headlines"
    title = "Security performance headlines"

    def __init__(self, overview: AnalyticsOverview) -> None:
        self.overview = overview

    def html(self) -> str:
        w = self.overview.window
        intro = (
            f"<p>From {esc(f'{w.since:%Y-%m-%d}')} to {esc(f'{w.at:%Y-%m-%d %H:%M}')} UTC; the sections below "
            "show how each figure is made (<code>seclo analyze</code>, docs/analytics.md).</p>"
        )
        rows = [((esc(h.name), esc(h.value), esc(h.detail)), "") for h in self.overview.headlines()]
        if not rows:
            return intro + "<p>No findings, incidents or production deployments in the store yet.</p>"
        return intro + table(["measure", "value", "how"], rows)


def overview_sections(overview: AnalyticsOverview) -> list[Section]:
    """The headline section, then one section per analysis that had data."""
    sections: list[Section] = [AnalyticsHeadlineSection(overview)]
    if overview.persistence is not None:
        sections.append(PersistenceSection(overview.persistence))
    if overview.sla is not None:
        sections.append(SlaSection(overview.sla))
    if overview.kpi is not None:
        sections.append(KpiSection(overview.kpi))
    if overview.dora is not None:
        sections.append(DoraSection(overview.dora))
    if overview.teams:
        sections.append(TogetherSection(overview.teams))
    return sections
