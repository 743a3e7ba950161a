"""DORA delivery metrics from the deployments and incidents tables: overall, per service, per team, per month,
and on request per service per month (scope "service_month", key "SERVICE/YYYY-MM").

Definitions (all over production deployments, env "production" or "prod", finished in the window):
- deployment frequency: successful production deployments per day;
- lead time for changes: median hours from each commit to the successful production deployment that shipped it;
- change failure rate: change failures / production deployments. A deployment is a change failure when its
  result is "failure" or an incident is linked to it; an incident names its deployment (deploy_id), else it is
  linked to the latest production deployment of its service that finished before it occurred, within the link
  window. A deployment is counted once however many incidents it caused, so the rate never exceeds 100%;
- time to restore: median hours from an incident occurring to it being resolved (unresolved ones are counted
  apart, not in the median);
- rework rate (where the data allows: DORA 2024 counts unplanned deployments that fix a user-facing
  problem): production deployments of a service that follow one of its change failures within the link
  window, over production deployments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from seclo.analytics.dora_levels import METRICS, Level, Metric, classify
from seclo.analytics.interface import Window
from seclo.errors import InputError
from seclo.store import Store
from seclo.store.sql import sql_literal

__all__ = [
    "DEFAULT_SCOPES",
    "INCIDENT_KINDS",
    "SCOPES",
    "DoraFigures",
    "DoraResult",
    "Scope",
    "analyze_dora",
]

Scope = Literal["all", "service", "team", "month", "service_month"]
SCOPES: tuple[Scope, ...] = ("all", "service", "team", "month", "service_month")
DEFAULT_SCOPES: tuple[Scope, ...] = ("all", "service", "team", "month")
INCIDENT_KINDS = {"outage": ("outage",), "security": ("security",), "all": ("outage", "security")}
UNKNOWN = "(unknown)"


@dataclass(frozen=True, slots=True)
class DoraFigures:
    """The DORA figures of one scope (everything, a service, a team or a month)."""

    scope: Scope
    key: str
    days: float
    deployments: int
    successful: int
    change_failures: int
    rework: int
    lead_time_hours: float
    incidents_restored: int
    incidents_unresolved: int
    time_to_restore_hours: float

    @property
    def deployment_frequency(self) -> float:
        """Successful production deployments per day."""
        return self.successful / self.days if self.days > 0 else float("nan")

    @property
    def change_failure_rate(self) -> float:
        """Share of production deployments that were change failures (NaN without deployments)."""
        return self.change_failures / self.deployments if self.deployments else float("nan")

    @property
    def rework_rate(self) -> float:
        """Share of production deployments made to fix a change failure (NaN without deployments)."""
        return self.rework / self.deployments if self.deployments else float("nan")

    def value(self, metric: Metric) -> float:
        """The value of one of the four classified metrics, in its unit (per day, hours or a fraction)."""
        return {
            "deployment_frequency": self.deployment_frequency,
            "lead_time": self.lead_time_hours,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore": self.time_to_restore_hours,
        }[metric]

    def levels(self, table: str) -> dict[Metric, Level | None]:
        """The level of each metric in `table`."""
        return {m: classify(table, m, self.value(m)) for m in METRICS}


@dataclass(frozen=True, slots=True)
class DoraResult:
    """Everything `seclo analyze dora` reports."""

    window: Window
    table: str
    link_window: timedelta
    incident_kind: str
    figures: tuple[DoraFigures, ...]

    def by(self, scope: Scope) -> tuple[DoraFigures, ...]:
        """The figures of one scope, in key order."""
        return tuple(f for f in self.figures if f.scope == scope)

    def overall(self) -> DoraFigures:
        """The figures over every production deployment."""
        return self.by("all")[0]


def _prod(columns: str) -> str:
    return f"""SELECT {columns} FROM deployments
  WHERE lower(env) IN ('production', 'prod') AND finished_at >= $since AND finished_at < $at"""


def _grouped(select: str, source: str, month_of: str, service_month: bool = False) -> str:
    """`select` aggregated over `source` for every scope at once (GROUPING SETS), with scope and key.

    With `service_month`, also per (service, month): scope "service_month", key "SERVICE/YYYY-MM".
    """
    both = "grouping(service) = 0 AND grouping(month) = 0"
    return f"""SELECT CASE WHEN {both} THEN 'service_month'
                   WHEN grouping(service) = 0 THEN 'service' WHEN grouping(team) = 0 THEN 'team'
                   WHEN grouping(month) = 0 THEN 'month' ELSE 'all' END AS scope,
       CASE WHEN {both} THEN coalesce(service, '{UNKNOWN}') || '/' || strftime(month, '%Y-%m')
            WHEN grouping(service) = 0 THEN coalesce(service, '{UNKNOWN}')
            WHEN grouping(team) = 0 THEN coalesce(team, '{UNKNOWN}')
            WHEN grouping(month) = 0 THEN strftime(month, '%Y-%m') ELSE 'all' END AS key, {select}
FROM (SELECT *, date_trunc('month', {month_of}) AS month FROM ({source}))
GROUP BY GROUPING SETS ((), (service), (team), (month){", (service, month)" if service_month else ""})"""


def _deploy_sql(kinds: tuple[str, ...], service_month: bool = False) -> str:
    kind_list = ", ".join(sql_literal(k) for k in kinds)
    return f"""WITH d AS ({
        _prod(f"deploy_id, service, coalesce(team, '{UNKNOWN}') AS team, finished_at, result")
    }),
inc AS (
  SELECT service, occurred_at, deploy_id FROM incidents
  WHERE kind IN ({kind_list}) AND occurred_at >= $since AND occurred_at < $at
),
linked AS (
  SELECT deploy_id FROM inc WHERE deploy_id IS NOT NULL
  UNION
  SELECT d.deploy_id
  FROM (SELECT * FROM inc WHERE deploy_id IS NULL) AS i
  ASOF JOIN d ON i.service = d.service AND i.occurred_at >= d.finished_at
  WHERE epoch_us(i.occurred_at) - epoch_us(d.finished_at) <= $link_us
),
flagged AS (
  SELECT d.*, d.result <> 'success' OR l.deploy_id IS NOT NULL AS failed
  FROM d LEFT JOIN linked AS l ON l.deploy_id = d.deploy_id
),
sequenced AS (
  SELECT *, lag(failed) OVER w AS previous_failed, lag(finished_at) OVER w AS previous_at
  FROM flagged WINDOW w AS (PARTITION BY service ORDER BY finished_at, deploy_id)
)
{
        _grouped(
            "count(*) AS deployments, count(*) FILTER (WHERE result = 'success') AS successful,"
            " count(*) FILTER (WHERE failed) AS change_failures,"
            " count(*) FILTER (WHERE previous_failed"
            " AND epoch_us(finished_at) - epoch_us(previous_at) <= $link_us) AS rework",
            "SELECT * FROM sequenced",
            "finished_at",
            service_month,
        )
    }"""


def _lead_sql(service_month: bool = False) -> str:
    source = f"""SELECT service, team, finished_at, unnest(commits).committed_at AS committed_at
  FROM ({_prod(f"service, coalesce(team, '{UNKNOWN}') AS team, finished_at, commits")} AND result = 'success')"""
    return _grouped(
        "median((epoch_us(finished_at) - epoch_us(committed_at)) / 3600e6) AS lead_time_hours",
        source,
        "finished_at",
        service_month,
    )


# The team that owns a service: the one with most of its deployments, ties to the first team name (DuckDB's mode()
# picks a tied value at random, so the figures changed from run to run).
SERVICE_OWNER_SQL = """SELECT service, first(team ORDER BY deployments DESC, team) AS team
  FROM (SELECT service, team, count(*) AS deployments FROM deployments WHERE team IS NOT NULL GROUP BY ALL)
  GROUP BY service"""


def _restore_sql(kinds: tuple[str, ...], service_month: bool = False) -> str:
    kind_list = ", ".join(sql_literal(k) for k in kinds)
    source = f"""SELECT i.service, coalesce(t.team, '{UNKNOWN}') AS team, i.occurred_at, i.resolved_at
  FROM incidents AS i
  LEFT JOIN ({SERVICE_OWNER_SQL}) AS t ON t.service = i.service
  WHERE i.kind IN ({kind_list}) AND i.occurred_at >= $since AND i.occurred_at < $at"""
    return _grouped(
        "count(*) FILTER (WHERE resolved_at <= $at) AS restored,"
        " count(*) FILTER (WHERE resolved_at IS NULL OR resolved_at > $at) AS unresolved,"
        " median((epoch_us(resolved_at) - epoch_us(occurred_at)) / 3600e6)"
        " FILTER (WHERE resolved_at <= $at) AS ttr_hours",
        source,
        "occurred_at",
        service_month,
    )


def _month_days(window: Window, key: str) -> float:
    """Days of the month `key` ("YYYY-MM", or "SERVICE/YYYY-MM") inside the window."""
    start = datetime.strptime(key.rsplit("/", 1)[-1], "%Y-%m")
    end = (start + timedelta(days=32)).replace(day=1)
    overlap = min(end, window.at) - max(start, window.since)
    return max(overlap / timedelta(days=1), 0.0)


def _nan(value: object) -> float:
    return float("nan") if value is None else float(value)  # type: ignore[arg-type]


def analyze_dora(
    store: Store,
    window: Window,
    *,
    table: str = "2019",
    link_window: timedelta = timedelta(hours=24),
    incident_kind: str = "outage",
    service_month: bool = False,
) -> DoraResult:
    """The DORA metrics of production deployments finished in `window`, classified with `table`.

    Args:
        table: "2019" or "2023" (seclo.analytics.dora_levels).
        link_window: how long after a deployment an incident is still blamed on it (and a deployment after
            a change failure counts as rework).
        incident_kind: which incidents are change failures and restorations: "outage", "security" or "all".
        service_month: also compute every service's figures per month (scope "service_month").

    Raises:
        InputError: no production deployment finished in the window.
    """
    kinds = INCIDENT_KINDS[incident_kind]
    params = {"since": window.since, "at": window.at, "link_us": link_window / timedelta(microseconds=1)}
    conn = store.conn
    deploys = {
        (r[0], r[1]): r[2:] for r in conn.execute(_deploy_sql(kinds, service_month), params).fetchall()
    }
    if not deploys.get(("all", "all"), (0,))[0]:
        raise InputError(
            f"no production deployments between {window.since:%Y-%m-%d} and {window.at:%Y-%m-%d}",
            tip="Import deployments (env production) first, or widen the period with --days.",
        )
    bounds = {"since": window.since, "at": window.at}
    lead = {(r[0], r[1]): r[2] for r in conn.execute(_lead_sql(service_month), bounds).fetchall()}
    restore = {
        (r[0], r[1]): r[2:] for r in conn.execute(_restore_sql(kinds, service_month), bounds).fetchall()
    }
    figures = []
    for scope, key in sorted(deploys, key=lambda k: (SCOPES.index(k[0]), k[1])):
        counts = deploys[(scope, key)]
        restored = restore.get((scope, key), (0, 0, None))
        figures.append(
            DoraFigures(
                scope=scope,
                key=key,
                days=_month_days(window, key) if scope in ("month", "service_month") else window.days,
                deployments=int(counts[0]),
                successful=int(counts[1]),
                change_failures=int(counts[2]),
                rework=int(counts[3]),
                lead_time_hours=_nan(lead.get((scope, key))),
                incidents_restored=int(restored[0]),
                incidents_unresolved=int(restored[1]),
                time_to_restore_hours=_nan(restored[2]),
            )
        )
    return DoraResult(window, table, link_window, incident_kind, tuple(figures))


def is_number(value: float) -> bool:
    """False for NaN (no data)."""
    return not math.isnan(value)
