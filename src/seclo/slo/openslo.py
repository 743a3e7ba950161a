"""Resolved OpenSLO v1 objectives: what the loader hands the SLO engine, with every reference followed.

OpenSLO files are parsed by `seclo.slo.openslo_models` and resolved by `seclo.slo.loader`; nothing here is a
raw mapping from YAML except the parameters of a catalog SLI, which the catalog validates with its own model.

Conventions for seclo's own metric sources:

- `type: seclo` names a catalog SLI, which yields good and total per timeslice itself. It goes under
  `ratioMetric.raw` with `rawType: success` (the one ratio form of OpenSLO v1 that takes a single source):
  `raw: {metricSource: {type: seclo, spec: {indicator: login_success, params: {...}}}}`.
- `type: sql` is a query over the store. In a ratioMetric, `good` (or `bad`) and `total` each hold a query
  `{query: "..."}`; in a thresholdMetric the one query gives the value compared with the objective's `op`/`value`.

seclo settings of an SLO go in its `metadata.annotations` (strings, so the file stays valid OpenSLO):

- `seclo/min-events`: the minimum-events guard; with fewer events (inventory SLIs: items in the latest
  snapshot) in the period the state is insufficient_data, which never alerts. Default 0.
- `seclo/alert-tiers`: which multi-window burn-rate alert tiers apply: `page,ticket` (default), `page`,
  `ticket` or `none`.
- `seclo/runbook-url`: where the on-call finds what to do; generated Prometheus alerts carry it as
  `runbook_url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from seclo.slo.alerting import ALL_TIERS, Severity
from seclo.slo.duration import Duration
from seclo.slo.policy import ErrorBudgetPolicy

__all__ = [
    "AlertCondition",
    "AlertPolicy",
    "BudgetingMethod",
    "IndicatorSpec",
    "MetricShape",
    "Objective",
    "Operator",
    "PrometheusIndicator",
    "SecloIndicator",
    "Service",
    "SloCatalog",
    "SqlIndicator",
    "TimeWindow",
    "UnsupportedIndicator",
]

BudgetingMethod = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
Operator = Literal["lt", "lte", "gt", "gte"]
# How an SLI's queries combine: good/total, (total - bad)/total, a precomputed ratio, or a value to compare.
MetricShape = Literal["good_total", "bad_total", "raw_success", "raw_failure", "threshold"]


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The period an objective is judged over.

    Attributes:
        duration: its length; calendar units (M, Q, Y) only occur in calendar windows.
        rolling: True for a window that ends now; False for one aligned to `calendar_start`.
        calendar_start: the start of the first calendar window, aware in `time_zone` (None when rolling).
        time_zone: the IANA zone of calendar windows (None when rolling).
    """

    duration: Duration
    rolling: bool
    calendar_start: datetime | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class SecloIndicator:
    """A catalog SLI by name; `params` are checked by that indicator's own parameter model."""

    name: str
    indicator: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SqlIndicator:
    """SQL over the store: `query` is the good, bad or threshold query; `total_query` the denominator."""

    name: str
    shape: MetricShape
    query: str
    total_query: str | None = None


@dataclass(frozen=True, slots=True)
class PrometheusIndicator:
    """PromQL queries read through Prometheus' HTTP API (seclo.prometheus.source).

    Attributes:
        query: the good, bad, raw or threshold query; `{{.window}}` stands for the slice length.
        total_query: the denominator of a good/total or bad/total ratio.
        counter: the ratioMetric's `counter` flag: the queries give running totals, not per-slice amounts.
        url: the Prometheus of the metric source's DataSource (connectionDetails.url); None: seclo.yaml's.
    """

    name: str
    shape: MetricShape
    query: str
    total_query: str | None = None
    counter: bool | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class UnsupportedIndicator:
    """An SLI that parsed but whose metric source seclo cannot evaluate; `reason` says why."""

    name: str
    source_type: str | None
    reason: str


IndicatorSpec = SecloIndicator | SqlIndicator | PrometheusIndicator | UnsupportedIndicator


@dataclass(frozen=True, slots=True)
class AlertCondition:
    """A burn-rate condition: alert when the burn rate over `lookback_window` is `op` `threshold`."""

    name: str
    severity: str
    threshold: float
    lookback_window: timedelta
    alert_after: timedelta = timedelta(0)
    op: Operator | None = None
    kind: Literal["burnrate"] = "burnrate"


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """When to alert on an objective and whom to tell (notification targets by name)."""

    name: str
    conditions: tuple[AlertCondition, ...]
    notification_targets: tuple[str, ...]
    alert_when_breaching: bool = False
    alert_when_resolved: bool = False
    alert_when_no_data: bool = False
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Objective:
    """One objective of an SLO with its indicator, window and alert policies resolved.

    Attributes:
        target: the fraction of good events (or slices) required, in (0, 1); targetPercent is divided by 100.
        op, value: the comparison of a thresholdMetric's value (None for ratio metrics unless given).
        time_slice_target: the good fraction that makes a slice good (Timeslices only).
        time_slice_window: the slice length (Timeslices and RatioTimeslices).
        source: the file the SLO came from, for messages.
        min_events: the minimum-events guard (annotation seclo/min-events).
        alert_tiers: the burn-rate alert tiers in force (annotation seclo/alert-tiers).
        runbook_url: the runbook for its alerts (annotation seclo/runbook-url), or None.
    """

    slo_name: str
    service: str
    display_name: str | None
    target: float
    indicator: IndicatorSpec
    budgeting: BudgetingMethod
    time_window: TimeWindow
    op: Operator | None = None
    value: float | None = None
    time_slice_target: float | None = None
    time_slice_window: timedelta | None = None
    alert_policies: tuple[AlertPolicy, ...] = ()
    slo_display_name: str | None = None
    description: str | None = None
    source: Path | None = None
    min_events: float = 0
    alert_tiers: frozenset[Severity] = ALL_TIERS
    runbook_url: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """A group of SLOs."""

    name: str
    display_name: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SloCatalog:
    """Everything read from a workspace's slos/ folder."""

    objectives: tuple[Objective, ...] = ()
    indicators: tuple[IndicatorSpec, ...] = ()
    alert_policies: tuple[AlertPolicy, ...] = ()
    services: tuple[Service, ...] = ()
    budget_policies: tuple[ErrorBudgetPolicy, ...] = ()
