"""Evaluate every SecLO of a workspace from its store: the library behind `seclo slo status`.

For each objective in slos/ this resolves the indicator, runs one aggregate query over the store for a window
covering the period and the longest burn-rate window before it, and hands the series to
`seclo.slo.evaluation.evaluate_objective`. Objectives seclo cannot evaluate (an unknown metric source type)
come back as results with state "unsupported" and the reason, not as exceptions; a mistake in an SLO file (an unknown SLI, a bad parameter) raises ConfigError naming the file.
Objectives whose metric source is `prometheus` are read through Prometheus' HTTP API instead
(seclo.prometheus.source); an unreachable Prometheus raises InputError naming the file.

The JSON document `status_document` builds is described in docs/slo-status.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from seclo.errors import ConfigError, InputError
from seclo.prometheus.http_api import PrometheusClient
from seclo.prometheus.source import prometheus_series
from seclo.sli.catalog import get_indicator, indicator_params
from seclo.sli.interface import Indicator, IndicatorParams, SliSeries, Window
from seclo.slo.alerting import PolicyCondition
from seclo.slo.budget import Budgeting
from seclo.slo.burn_rate import BURN_RATE_WINDOWS
from seclo.slo.evaluation import (
    BudgetHistory,
    Months,
    Period,
    SloState,
    SloStatus,
    budget_history,
    evaluate_objective,
)
from seclo.slo.loader import load_slo_documents
from seclo.slo.openslo import (
    Objective,
    PrometheusIndicator,
    SecloIndicator,
    SqlIndicator,
    TimeWindow,
    UnsupportedIndicator,
)
from seclo.slo.policy import ErrorBudgetPolicy, PolicyEvaluation, evaluate_policy, policy_for
from seclo.store import Store
from seclo.workspace import Workspace

__all__ = [
    "DEFAULT_STEP",
    "SCHEMA",
    "SNAPSHOT_LOOKBACK",
    "ResultState",
    "SloResult",
    "evaluate_objective_in_store",
    "evaluate_workspace",
    "status_document",
    "store_indicator",
]

SCHEMA = "seclo.slo.status/v1"
# Slice length for Occurrences objectives (Timeslices and RatioTimeslices use their timeSliceWindow): short
# enough for the 5-minute burn-rate window, long enough to keep a 90-day series at ~26,000 slices.
DEFAULT_STEP = timedelta(minutes=5)
# Inventories are snapshots: the state at the period's start is the last snapshot before it, so the query
# reaches this far further back. Monthly inventories (the slowest common cadence) fit with a few days spare.
SNAPSHOT_LOOKBACK = timedelta(days=35)
_LONGEST_BURN_WINDOW = max(window for _, window in BURN_RATE_WINDOWS)
_EPOCH = datetime(1970, 1, 1)

ResultState = Literal[SloState, "unsupported"]


@dataclass(frozen=True, slots=True)
class SloResult:
    """One objective of the workspace, evaluated (or the reason it could not be).

    Attributes:
        name: the SLO's metadata.name.
        service: the service the SLO belongs to.
        display_name: the objective's displayName, else the SLO's, else None.
        indicator: the catalog SLI name ("login_success"), "sql", or the metric source type seclo cannot read.
        target: the objective, in (0, 1).
        budgeting: the OpenSLO budgeting method.
        window: the time window in words, such as "28d rolling" or "1M calendar (Europe/Berlin)".
        status: the evaluation; None when the objective could not be evaluated.
        error: why it could not be evaluated (None when it was).
        policy: the error budget policy's steps for this objective (None: no policy applies, or no status).
        series: the SLI's good/total per slice the status was computed from (None without a status).
        period: the objective's time window as the engine takes it (None without a status).
        time_slice_target: the per-slice target of a Timeslices objective.
        description: the SLO's spec.description, for reports.
    """

    name: str
    service: str
    display_name: str | None
    indicator: str
    target: float
    budgeting: Budgeting
    window: str
    status: SloStatus | None
    error: str | None = None
    policy: PolicyEvaluation | None = None
    series: SliSeries | None = field(default=None, repr=False, compare=False)
    period: Period | None = None
    time_slice_target: float | None = None
    description: str | None = None

    def history(self) -> BudgetHistory | None:
        """Budget remaining after each slice of the series up to the evaluation time (for charts)."""
        if self.series is None or self.period is None:
            return None
        return budget_history(
            self.series,
            target=self.target,
            budgeting=self.budgeting,
            period=self.period,
            time_slice_target=self.time_slice_target,
        )

    @property
    def state(self) -> ResultState:
        """The evaluation's state, or "unsupported" when there is none."""
        return "unsupported" if self.status is None else self.status.state

    @property
    def failing(self) -> bool:
        """True when the objective is breached or one of its alerts fires (the CLI then exits 1)."""
        return self.status is not None and (self.status.state == "breached" or bool(self.status.firing))


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _floor(moment: datetime, step: timedelta) -> datetime:
    """`moment` rounded down to a multiple of `step` since the Unix epoch (as the SLI queries bucket)."""
    return _EPOCH + ((moment - _EPOCH) // step) * step


def _period(window: TimeWindow) -> Period:
    duration = window.duration
    length: timedelta | Months = Months(duration.months) if duration.is_calendar else duration.to_timedelta()
    return Period(length, window.rolling, window.calendar_start, window.time_zone or "UTC")


def _describe(window: TimeWindow) -> str:
    if window.rolling:
        return f"{window.duration} rolling"
    zone = window.time_zone or "UTC"
    return f"{window.duration} calendar ({zone})"


def store_indicator(objective: Objective, workspace: Workspace) -> tuple[Indicator, IndicatorParams] | str:
    """The store indicator and its parameters, or the reason seclo cannot evaluate the objective from the store.

    Raises:
        ConfigError: an unknown SLI or invalid parameters.
    """
    spec = objective.indicator
    if isinstance(spec, SecloIndicator):
        indicator = get_indicator(spec.indicator)
        raw = dict(spec.params)
        if indicator.name == "patch_latency" and "sla_days" not in raw:
            # The starter SecLO defers to the workspace's SLA days (seclo.yaml sla_days).
            raw["sla_days"] = workspace.settings.sla_days.model_dump()
        return indicator, indicator_params(indicator, raw)
    if isinstance(spec, SqlIndicator):
        return _sql_indicator(spec, objective)
    if isinstance(spec, PrometheusIndicator):
        return "a Prometheus metric source is read from Prometheus, not the store"
    if isinstance(spec, UnsupportedIndicator):
        return spec.reason
    raise TypeError(f"unknown indicator spec {type(spec).__name__}")  # pragma: no cover


def _conditions(objective: Objective) -> tuple[PolicyCondition, ...]:
    """The burn-rate conditions of the objective's OpenSLO alert policies."""
    return tuple(
        PolicyCondition(
            policy=policy.name,
            name=condition.name,
            severity=condition.severity,
            threshold=condition.threshold,
            lookback=condition.lookback_window,
            op=condition.op or "gt",
            alert_after=condition.alert_after,
            notify=policy.notification_targets,
        )
        for policy in objective.alert_policies
        for condition in policy.conditions
    )


def _sql_indicator(spec: SqlIndicator, objective: Objective) -> tuple[Indicator, IndicatorParams]:
    """A sql metric source as a catalog SLI: `sql` when good and total are one query returning both,
    `sql_ratio` for separate good (or bad) and total queries, `sql_threshold` for a thresholdMetric."""
    raw: dict[str, Any]
    if spec.shape == "threshold":
        if objective.op is None or objective.value is None:
            raise ConfigError(
                "a thresholdMetric objective needs op and value (the threshold a good event meets)"
            )
        name, raw = "sql_threshold", {"query": spec.query, "op": objective.op, "value": objective.value}
    elif spec.shape == "good_total" and (
        spec.total_query is None or spec.total_query.strip() == spec.query.strip()
    ):
        name, raw = "sql", {"query": spec.query}
    else:
        role = "good" if spec.shape == "good_total" else "bad"
        name, raw = "sql_ratio", {role: spec.query, "total": spec.total_query}
    indicator = get_indicator(name)
    return indicator, indicator_params(indicator, raw)


def _indicator_name(objective: Objective) -> str:
    spec = objective.indicator
    if isinstance(spec, SecloIndicator):
        return spec.indicator
    if isinstance(spec, SqlIndicator):
        if spec.shape == "threshold":
            return "sql_threshold"
        same = spec.total_query is None or spec.total_query.strip() == spec.query.strip()
        return "sql" if spec.shape == "good_total" and same else "sql_ratio"
    if isinstance(spec, PrometheusIndicator):
        return "prometheus"
    return spec.source_type or "unknown"


SeriesCache = dict[tuple[str, str, Window], SliSeries]


def _store_series(
    indicator: Indicator, params: IndicatorParams, window: Window, store: Store, cache: SeriesCache | None
) -> SliSeries:
    """The indicator's series over `window`, queried once per SLI, parameters and window through `cache`."""
    key = (indicator.name, params.model_dump_json(), window)
    series = cache.get(key) if cache is not None else None
    if series is None:
        series = indicator.evaluate(store.conn, params, window)
        if cache is not None:
            cache[key] = series
    return series


def evaluate_objective_in_store(
    objective: Objective,
    store: Store,
    workspace: Workspace,
    at: datetime,
    cache: SeriesCache | None = None,
    policies: Sequence[ErrorBudgetPolicy] = (),
) -> SloResult:
    """Evaluate one objective at `at` (naive UTC) with one aggregate query over the store.

    Objectives over the same SLI, parameters and window share one query through `cache` (two budgeting
    methods for login success scan the events once). The first of `policies` that applies to the SLO is
    evaluated into the result's `policy`.

    The window's step is the timeSliceWindow when the objective has one, else DEFAULT_STEP. It starts, aligned
    to the step, the longest burn-rate window (3d) before the period, and SNAPSHOT_LOOKBACK earlier still for
    inventory SLIs, so the last snapshot before the period is carried into it. It ends at `at`.

    Raises:
        ConfigError: the SLO file names an unknown SLI or invalid parameters (the message names the file).
    """
    where = f"{objective.source}: " if objective.source is not None else ""
    base = SloResult(
        name=objective.slo_name,
        service=objective.service,
        display_name=objective.display_name or objective.slo_display_name,
        indicator=_indicator_name(objective),
        target=objective.target,
        budgeting=objective.budgeting,
        window=_describe(objective.time_window),
        status=None,
        time_slice_target=objective.time_slice_target,
        description=objective.description,
    )
    try:
        period = _period(objective.time_window)
        start, _ = period.bounds(at)
        step = objective.time_slice_window or DEFAULT_STEP
        first = _naive_utc(start) - _LONGEST_BURN_WINDOW
        spec = objective.indicator
        if isinstance(spec, PrometheusIndicator):
            settings = workspace.settings.prometheus
            client = PrometheusClient(spec.url or settings.url, settings.timeout_seconds)
            window = Window(_floor(first, step), at, step)
            series = prometheus_series(spec, window, client, op=objective.op, value=objective.value)
        else:
            resolved = store_indicator(objective, workspace)
            if isinstance(resolved, str):
                return replace(base, error=resolved)
            indicator, params = resolved
            if indicator.kind == "snapshot":
                first -= SNAPSHOT_LOOKBACK
            series = _store_series(indicator, params, Window(_floor(first, step), at, step), store, cache)
        status = evaluate_objective(
            series,
            target=objective.target,
            budgeting=objective.budgeting,
            at=at,
            period=period,
            time_slice_target=objective.time_slice_target,
            min_events=objective.min_events,
            tiers=objective.alert_tiers,
            conditions=_conditions(objective),
        )
    except ConfigError as exc:
        raise ConfigError(
            f"{where}SLO {objective.slo_name!r}: {exc}", tip=exc.tip or "See docs/sli-catalog.md."
        ) from None
    except InputError as exc:
        raise InputError(f"{where}SLO {objective.slo_name!r}: {exc}", tip=exc.tip) from None
    policy = policy_for(policies, objective.slo_name, objective.service)
    return replace(
        base,
        status=status,
        policy=None if policy is None else evaluate_policy(policy, status),
        series=series,
        period=period,
        time_slice_target=objective.time_slice_target,
    )


def evaluate_workspace(
    workspace: Workspace, store: Store, *, at: datetime | None = None
) -> tuple[SloResult, ...]:
    """Evaluate every objective of the SLO files in the workspace's slos/ folder, in file order.

    Args:
        workspace: the workspace whose slos/ folder is read.
        store: the store the SLIs query.
        at: the evaluation time (naive means UTC); now by default. Data after it is ignored.

    Raises:
        ConfigError: slos/ is missing or an SLO file is invalid.
    """
    moment = datetime.now(UTC).replace(tzinfo=None) if at is None else _naive_utc(at)
    catalog = load_slo_documents(workspace.root / "slos")
    cache: SeriesCache = {}
    policies = catalog.budget_policies
    return tuple(
        evaluate_objective_in_store(o, store, workspace, moment, cache, policies) for o in catalog.objectives
    )


def _number(value: float) -> float | None:
    """JSON has no NaN: an undefined figure is null."""
    return None if math.isnan(value) else value


def _span(length: timedelta) -> str:
    """A window length in OpenSLO shorthand: 5m, 1h, 3d."""
    minutes = int(length / timedelta(minutes=1))
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _iso(moment: datetime) -> str:
    return _naive_utc(moment).isoformat() + "Z"


def _entry(result: SloResult) -> dict[str, Any]:
    status = result.status
    entry: dict[str, Any] = {
        "name": result.name,
        "display_name": result.display_name,
        "service": result.service,
        "indicator": result.indicator,
        "target": result.target,
        "budgeting": result.budgeting,
        "window": result.window,
        "state": result.state,
        "period": None,
        "attainment": None,
        "events": None,
        "budget": None,
        "burn_rates": {},
        "alerts": [],
        "policy": None,
        "error": result.error,
    }
    if status is None:
        return entry
    budget = status.budget
    entry |= {
        "period": {"start": _iso(status.period_start), "end": _iso(status.period_end)},
        "attainment": _number(status.attainment),
        "events": status.events,
        "budget": {
            "allowed": budget.allowed,
            "consumed": budget.consumed,
            "remaining": budget.remaining,
            "remaining_fraction": _number(budget.remaining_fraction),
            "unit": budget.unit,
        },
        "burn_rates": {rate.name: _number(rate.rate) for rate in status.burn_rates},
        "alerts": [
            {
                "name": alert.window.name,
                "severity": alert.window.severity,
                "long": _span(alert.window.long),
                "short": _span(alert.window.short),
                "factor": alert.window.factor,
                "long_rate": _number(alert.long_rate),
                "short_rate": _number(alert.short_rate),
                "firing": alert.firing,
                "policy": alert.window.policy,
            }
            for alert in status.alerts
        ],
    }
    if result.policy is not None:
        current = result.policy.current
        entry["policy"] = {
            "name": result.policy.policy.name,
            "current_step": None if current is None else current.name,
            "steps": [
                {
                    "name": state.step.name,
                    "condition": state.step.condition,
                    "action": state.step.action,
                    "reached": state.reached,
                }
                for state in result.policy.steps
            ],
        }
    return entry


def status_document(
    results: tuple[SloResult, ...], *, at: datetime | None = None, generated_at: datetime | None = None
) -> dict[str, Any]:
    """The JSON form of `seclo slo status` (schema seclo.slo.status/v1, see docs/slo-status.md).

    Args:
        results: what evaluate_workspace returned.
        at: the evaluation time; by default the results' own (or `generated_at` when none was evaluated).
        generated_at: when the document was made; now by default.
    """
    made = datetime.now(UTC) if generated_at is None else generated_at
    if at is None:
        at = next((r.status.at for r in results if r.status is not None), made)
    return {
        "schema": SCHEMA,
        "generated_at": _iso(made),
        "at": _iso(at),
        "slos": [_entry(result) for result in results],
    }
