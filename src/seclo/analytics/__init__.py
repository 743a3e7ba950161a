"""Security performance analytics: flaw persistence (survival), patch SLAs, incident KPIs and DORA metrics."""

from seclo.analytics.dora import DoraFigures, DoraResult, analyze_dora
from seclo.analytics.dora_levels import classify
from seclo.analytics.interface import Quantile, Window
from seclo.analytics.kpi import Distribution, KpiResult, analyze_kpi
from seclo.analytics.persistence import PersistenceResult, SurvivalCurve, analyze_persistence
from seclo.analytics.sla import SlaResult, analyze_sla
from seclo.analytics.together import TeamPerformance, analyze_together

__all__ = [
    "Distribution",
    "DoraFigures",
    "DoraResult",
    "KpiResult",
    "PersistenceResult",
    "Quantile",
    "SlaResult",
    "SurvivalCurve",
    "TeamPerformance",
    "Window",
    "analyze_dora",
    "analyze_kpi",
    "analyze_persistence",
    "analyze_sla",
    "analyze_together",
    "classify",
]
