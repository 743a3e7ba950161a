"""The JSON documents of `seclo analyze ... --format json`, one versioned schema per analysis
(docs/analytics.md). Times are ISO 8601 UTC; values that do not exist (no data, never reached) are null."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from seclo.analytics.dora import DoraResult
from seclo.analytics.dora_levels import METRICS, TABLES
from seclo.analytics.interface import Quantile, finite, schema_name
from seclo.analytics.kpi import KpiResult
from seclo.analytics.persistence import PersistenceResult
from seclo.analytics.sla import SlaResult
from seclo.analytics.together import TeamPerformance

__all__ = [
    "dora_document",
    "kpi_document",
    "persistence_document",
    "sla_document",
    "together_document",
]

Document = dict[str, Any]


def _quantile(q: Quantile) -> Document:
    return {"share": q.share, "days": finite(q.value), "lower": finite(q.lower), "upper": finite(q.upper)}


def persistence_document(result: PersistenceResult) -> Document:
    """Curves sampled at whole days (0 to the last step), with the 25/50/75% times to close."""
    curves = []
    for c in result.curves:
        grid = np.arange(0.0, float(np.floor(c.times[-1])) + 1.0)
        curves.append(
            {
                "dimension": c.dimension,
                "group": c.group,
                "findings": c.findings,
                "closed": c.closed,
                "censored": c.censored,
                "time_to_close": [_quantile(q) for q in c.quantiles],
                "survival_by_day": [round(float(v), 6) for v in c.at_days(grid)],
            }
        )
    return {
        "schema": schema_name("persistence"),
        "at": result.at.isoformat() + "Z",
        "not_counted": result.not_counted,
        "invalid": result.invalid,
        "curves": curves,
    }


def sla_document(result: SlaResult) -> Document:
    """Per-severity figures, the overdue list and the burn-down series."""
    return {
        "schema": schema_name("sla"),
        "at": result.at.isoformat() + "Z",
        "sla_days": result.sla_days.model_dump(),
        "restart_rule": result.restart_rule,
        "severities": [{**asdict(s), "within_share": finite(s.within_share)} for s in result.severities],
        "overdue_total": result.overdue_total,
        "overdue": [
            {
                **asdict(o),
                "opened_at": o.opened_at.isoformat() + "Z",
                "deadline": o.deadline.isoformat() + "Z",
            }
            for o in result.overdue
        ],
        "burn_down": [
            {"time": t.isoformat() + "Z", "within_sla": int(w), "past_sla": int(p)}
            for t, w, p in zip(
                result.burn_down.times, result.burn_down.within_sla, result.burn_down.past_sla, strict=True
            )
        ],
    }


def kpi_document(result: KpiResult) -> Document:
    """Every distribution in minutes."""
    return {
        "schema": schema_name("kpi"),
        "since": result.window.since.isoformat() + "Z",
        "at": result.window.at.isoformat() + "Z",
        "unit": "minutes",
        "distributions": [
            {
                "kind": d.kind,
                "measure": d.measure,
                "count": d.count,
                "pending": d.pending,
                "zero": d.zero,
                "median": finite(d.median),
                "p90": finite(d.p90),
                "mean": finite(d.mean),
                "lognormal": {
                    "meanlog": finite(d.meanlog),
                    "sdlog": finite(d.sdlog),
                    "median": finite(d.median_fit),
                    "median_interval": [finite(v) for v in d.median_fit_interval],
                },
                "histogram": {
                    "edges": [float(v) for v in d.bin_edges],
                    "counts": [int(v) for v in d.bin_counts],
                },
                "monthly": [
                    {"month": m, "count": int(n), "median": finite(float(v))}
                    for m, n, v in zip(d.months, d.monthly_count, d.monthly_median, strict=True)
                ],
            }
            for d in result.distributions
        ],
    }


def dora_document(result: DoraResult) -> Document:
    """Figures and levels per scope, and the thresholds used."""
    thresholds = {
        metric: [
            {"level": t.level, "bound": t.bound, "inclusive": t.inclusive, "text": t.text}
            for t in TABLES[result.table][metric]
        ]
        for metric in METRICS
    }
    return {
        "schema": schema_name("dora"),
        "since": result.window.since.isoformat() + "Z",
        "at": result.window.at.isoformat() + "Z",
        "table": result.table,
        "link_window_hours": result.link_window.total_seconds() / 3600,
        "incident_kind": result.incident_kind,
        "units": {
            "deployment_frequency": "per day",
            "lead_time": "hours",
            "change_failure_rate": "fraction",
            "time_to_restore": "hours",
        },
        "thresholds": thresholds,
        "figures": [
            {
                "scope": f.scope,
                "key": f.key,
                "days": f.days,
                "deployments": f.deployments,
                "successful": f.successful,
                "change_failures": f.change_failures,
                "rework": f.rework,
                "rework_rate": finite(f.rework_rate),
                "incidents_restored": f.incidents_restored,
                "incidents_unresolved": f.incidents_unresolved,
                "values": {m: finite(f.value(m)) for m in METRICS},
                "levels": f.levels(result.table),
            }
            for f in result.figures
        ],
    }


def together_document(teams: tuple[TeamPerformance, ...], since: str, at: str) -> Document:
    """One row per team."""
    return {
        "schema": schema_name("together"),
        "since": since,
        "at": at,
        "teams": [{k: (v if isinstance(v, str) else finite(v)) for k, v in asdict(t).items()} for t in teams],
    }
