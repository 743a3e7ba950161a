"""What `seclo serve` exports, read from the store at one moment: per-objective figures and the security SLIs.

Everything here is one pass over the workspace at a time `at` (naive UTC), with the store open read-only for
the pass only. `seclo.prometheus.exporter` turns the result into the exposition format.

Counter semantics (seclo.prometheus.names): an events SLI's good and total counters are the SLI's counts over
the whole store up to `at`, so Prometheus' `increase()` over a window gives the window's events. They are
counted per event, so an event shows as soon as it is in the store. Two indicators count per slice, not per
event (`brute_force_pressure` judges each source over a whole slice; a `sql` query may aggregate per slice),
and a slice still filling could change its mind; for those only slices that have ended are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seclo.errors import SecloError
from seclo.sli.accounts import MfaCoverage, OrphanedAccounts
from seclo.sli.exposure import UnexpectedPublicPorts
from seclo.sli.interface import Indicator, IndicatorParams
from seclo.sli.slicing import FINDING_NOT_COUNTED, finding_closed_at
from seclo.slo.loader import load_slo_documents
from seclo.slo.openslo import Objective, PrometheusIndicator
from seclo.slo.status import (
    DEFAULT_STEP,
    SNAPSHOT_LOOKBACK,
    SeriesCache,
    SloResult,
    evaluate_objective_in_store,
    store_indicator,
)
from seclo.store import Store
from seclo.workspace import Workspace

__all__ = ["ExportFigures", "ObjectiveFigures", "SecurityFigures", "read_figures"]

_EPOCH = datetime(1970, 1, 1)
# One time bucket holding every slice: "the latest snapshot in the window" comes back as one row.
_ONE_BUCKET = timedelta(days=36_500)
_PER_SLICE = frozenset({"brute_force_pressure", "sql"})
SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True, slots=True)
class ObjectiveFigures:
    """One objective evaluated from the store.

    Attributes:
        result: seclo's own evaluation (status, burn rates, alerts).
        objective: the objective's index in its SLO's spec.objectives, as text (the `objective` label).
        good, total: for events SLIs the running totals over the store up to `at` (counters); for snapshot
            SLIs the latest snapshot's good and total items (gauges); None when there is no snapshot.
        kind: the SLI's kind: "events" or "snapshot".
    """

    result: SloResult
    objective: str
    kind: str
    good: float | None
    total: float | None


@dataclass(frozen=True, slots=True)
class SecurityFigures:
    """The security SLIs as of `at`, from the latest inventory snapshot (None: no snapshot yet).

    Attributes:
        mfa_coverage: share of enabled human and admin accounts with MFA enrolled (`mfa_coverage`).
        orphaned_accounts: enabled accounts whose owner left or that have not logged in for 90 days.
        public_ports_expected, public_ports_unexpected: open ports on public assets in and not in the
            allowed list (443/tcp, 80/tcp), as `unexpected_public_ports` counts them.
        findings_past_sla: open findings past the workspace's SLA days, per severity.
    """

    mfa_coverage: float | None
    orphaned_accounts: float | None
    public_ports_expected: float | None
    public_ports_unexpected: float | None
    findings_past_sla: dict[str, int]


@dataclass(frozen=True, slots=True)
class ExportFigures:
    """Everything one refresh read: the time, the objectives, the security SLIs and what failed."""

    at: datetime
    objectives: tuple[ObjectiveFigures, ...]
    security: SecurityFigures
    objective_errors: int


def _floor(moment: datetime, step: timedelta) -> datetime:
    return _EPOCH + ((moment - _EPOCH) // step) * step


def _running_totals(
    store: Store, indicator: Indicator, params: IndicatorParams, step: timedelta, at: datetime
) -> tuple[float, float]:
    """The SLI's good and total over the whole store up to `at` (whole slices only for per-slice SLIs)."""
    end = _floor(at, step) if indicator.name in _PER_SLICE else at
    rows = store.conn.execute(
        f"SELECT coalesce(sum(good), 0), coalesce(sum(total), 0) FROM ({indicator.sql(params)})",
        {"start": _EPOCH, "end": end, "step": step},
    ).fetchall()
    return float(rows[0][0]), float(rows[0][1])


def _latest_snapshot(
    store: Store, indicator: Indicator, params: IndicatorParams, at: datetime
) -> tuple[float, float] | None:
    """Good and total items of the latest snapshot in the SNAPSHOT_LOOKBACK before `at`."""
    rows = store.conn.execute(
        f"SELECT good, total FROM ({indicator.sql(params)}) ORDER BY slice_start DESC LIMIT 1",
        {"start": at - SNAPSHOT_LOOKBACK, "end": at, "step": _ONE_BUCKET},
    ).fetchall()
    return (float(rows[0][0]), float(rows[0][1])) if rows else None


def _findings_past_sla(store: Store, workspace: Workspace, at: datetime) -> dict[str, int]:
    sla = workspace.settings.sla_days
    values = ", ".join(f"('{s}', {getattr(sla, s)})" for s in SEVERITIES)
    rows = store.conn.execute(
        f"""WITH sla(severity, days) AS (VALUES {values})
SELECT sla.severity, count(DISTINCT f.finding_id)
FROM sla LEFT JOIN findings AS f
  ON f.severity = sla.severity
 AND f.status NOT IN {FINDING_NOT_COUNTED}
 AND f.opened_at + to_days(sla.days) < $at
 AND coalesce({finding_closed_at("f")} > $at, true)
GROUP BY sla.severity""",
        {"at": at},
    ).fetchall()
    found = {str(severity): int(count) for severity, count in rows}
    return {s: found.get(s, 0) for s in SEVERITIES}


def read_security(store: Store, workspace: Workspace, at: datetime) -> SecurityFigures:
    """The security SLIs as of `at` (see SecurityFigures), with the catalog's default parameters."""
    mfa_sli, orphan_sli, ports_sli = MfaCoverage(), OrphanedAccounts(), UnexpectedPublicPorts()
    mfa = _latest_snapshot(store, mfa_sli, mfa_sli.params(), at)
    orphans = _latest_snapshot(store, orphan_sli, orphan_sli.params(), at)
    ports = _latest_snapshot(store, ports_sli, ports_sli.params(), at)
    return SecurityFigures(
        mfa_coverage=None if mfa is None or mfa[1] == 0 else mfa[0] / mfa[1],
        orphaned_accounts=None if orphans is None else orphans[1] - orphans[0],
        public_ports_expected=None if ports is None else ports[0],
        public_ports_unexpected=None if ports is None else ports[1] - ports[0],
        findings_past_sla=_findings_past_sla(store, workspace, at),
    )


_Counts = dict[tuple[str, str, timedelta | None], tuple[float, float] | None]


def _objective_figures(
    objective: Objective,
    index: int,
    store: Store,
    workspace: Workspace,
    at: datetime,
    cache: SeriesCache,
    counts: _Counts,
) -> ObjectiveFigures | None:
    """One objective, or None when its SLI is not read from the store (a Prometheus or unknown source)."""
    resolved = store_indicator(objective, workspace)
    if isinstance(resolved, str):
        return None
    indicator, params = resolved
    result = evaluate_objective_in_store(objective, store, workspace, at, cache)
    step = objective.time_slice_window or DEFAULT_STEP
    key = (indicator.name, params.model_dump_json(), step if indicator.kind == "events" else None)
    if key not in counts:  # objectives over the same SLI and parameters share one query
        if indicator.kind == "events":
            counts[key] = _running_totals(store, indicator, params, step, at)
        else:
            counts[key] = _latest_snapshot(store, indicator, params, at)
    found = counts[key]
    good, total = (None, None) if found is None else found
    return ObjectiveFigures(result, str(index), indicator.kind, good, total)


def read_figures(workspace: Workspace, store: Store, at: datetime) -> ExportFigures:
    """Evaluate every objective of the workspace's slos/ whose SLI comes from the store, at `at`.

    An objective whose evaluation fails (an unknown SLI, bad parameters) is left out and counted in
    `objective_errors`; the others are still exported.

    Raises:
        ConfigError: slos/ is missing or a file in it is invalid.
    """
    catalog = load_slo_documents(workspace.root / "slos")
    cache: SeriesCache = {}
    counts: _Counts = {}
    seen: dict[str, int] = {}
    objectives: list[ObjectiveFigures] = []
    errors = 0
    for objective in catalog.objectives:
        index = seen.get(objective.slo_name, 0)
        seen[objective.slo_name] = index + 1
        if isinstance(objective.indicator, PrometheusIndicator):
            continue  # read from Prometheus, which scrapes this exporter: never exported back
        try:
            figures = _objective_figures(objective, index, store, workspace, at, cache, counts)
        except SecloError:
            errors += 1
            continue
        if figures is not None:
            objectives.append(figures)
    return ExportFigures(at, tuple(objectives), read_security(store, workspace, at), errors)
