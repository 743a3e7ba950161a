"""Flaw persistence: Kaplan-Meier survival of findings from opened to closed (Veracode SOSS's "flaw half-life").

DuckDB measures each finding's duration (to the hour), counts the findings once per (severity, asset group,
duration, observed) and rolls those counts up to (group, duration, observed, count) for every dimension with
GROUPING SETS. lifelines fits the estimator on those unique durations with
the counts as weights, which is the same estimate as on the raw rows (the Kaplan-Meier estimator only uses the
number of closures and of findings at risk at each distinct time). Still-open findings are right-censored at
the evaluation time, never dropped.

Rules:
- counted: findings opened at or before `at`, except those marked false_positive or accepted;
- closed: closed_at is set, not after `at`, and the status is not "reopened" (a reopened finding is open
  again, whatever closed_at says: the fix did not hold, so its clock keeps running from opened_at);
- a finding closed before it was opened is invalid: counted in `invalid`, left out of the curves.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt

from seclo.analytics.interface import Quantile
from seclo.errors import InputError
from seclo.sli.slicing import FINDING_NOT_COUNTED
from seclo.store import Store
from seclo.store.sql import run

__all__ = [
    "DIMENSIONS",
    "QUANTILE_SHARES",
    "SCAN_BUCKETS",
    "Dimension",
    "PersistenceResult",
    "SurvivalCurve",
    "analyze_persistence",
    "asset_groups_sql",
    "durations_sql",
    "fit_kaplan_meier",
]

Dimension = Literal["all", "severity", "team", "criticality", "scan_frequency"]
DIMENSIONS: tuple[Dimension, ...] = ("all", "severity", "team", "criticality", "scan_frequency")
QUANTILE_SHARES = (0.25, 0.5, 0.75)  # time to close 25%, 50% (the half-life) and 75% of findings
UNKNOWN = "(unknown)"

# Scans per year per asset, as Veracode SOSS volume 9 buckets them (about monthly or less, monthly to weekly,
# weekly to daily, daily or more). Each lower edge sits a little below the calendar cadence, so an asset
# scanned every 7 days (52.2 scans a year) lands in "52-260" and a monthly one in "12-52".
SCAN_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<12 scans/yr", 0.0),
    ("12-52 scans/yr", 11.5),
    ("52-260 scans/yr", 50.0),
    (">=260 scans/yr", 250.0),
)
SINGLE_SCAN = "single scan"


@dataclass(frozen=True, slots=True)
class SurvivalCurve:
    """The Kaplan-Meier curve of one group of findings.

    Attributes:
        dimension: what the findings are grouped by.
        group: the group's value ("all" for the whole population).
        findings: findings counted (closed plus still open).
        closed: findings closed by the evaluation time (events).
        censored: findings still open at the evaluation time.
        times: days since opening at which the curve steps (starting at 0).
        survival: share still open at each time.
        lower: lower end of the 95% pointwise interval (lifelines' exponential Greenwood).
        upper: upper end of that interval.
        quantiles: days to close 25%, 50% and 75% of the findings, with intervals.
    """

    dimension: Dimension
    group: str
    findings: int
    closed: int
    censored: int
    times: npt.NDArray[np.float64]
    survival: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    quantiles: tuple[Quantile, ...]

    @property
    def half_life(self) -> float:
        """Days until half the findings are closed (inf when fewer than half ever closed)."""
        return next(q.value for q in self.quantiles if q.share == 0.5)

    def at_days(self, days: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The share still open after each of `days` (the step function, right-continuous)."""
        index = np.searchsorted(self.times, days, side="right") - 1
        return np.asarray(self.survival[np.maximum(index, 0)], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PersistenceResult:
    """Survival curves of every group, with what was left out."""

    at: datetime
    curves: tuple[SurvivalCurve, ...]
    not_counted: int
    invalid: int

    def by(self, dimension: Dimension) -> tuple[SurvivalCurve, ...]:
        """The curves of one dimension."""
        return tuple(c for c in self.curves if c.dimension == dimension)

    def overall(self) -> SurvivalCurve:
        """The curve of all counted findings."""
        return self.by("all")[0]


def _scan_bucket_sql() -> str:
    """SQL: an asset's scan-frequency bucket from its distinct snapshots and the span they cover."""
    cases = " ".join(
        f"WHEN scans_per_year >= {edge} THEN '{label}'" for label, edge in reversed(SCAN_BUCKETS)
    )
    return f"CASE WHEN scans < 2 THEN '{SINGLE_SCAN}' {cases} END"


def asset_groups_sql() -> str:
    """SQL: one row per asset seen by $at with its latest team and criticality and its scan-frequency bucket."""
    return f"""SELECT asset_id, team, criticality, {_scan_bucket_sql()} AS scan_frequency
FROM (
  SELECT asset_id,
         arg_max(team, snapshot_time) AS team,
         arg_max(criticality, snapshot_time) AS criticality,
         count(DISTINCT snapshot_time) AS scans,
         (count(DISTINCT snapshot_time) - 1) * 365.25 * 86400e6
           / greatest(epoch_us(max(snapshot_time)) - epoch_us(min(snapshot_time)), 1) AS scans_per_year
  FROM assets
  WHERE snapshot_time <= $at
  GROUP BY asset_id
)"""


# A finding's close counts when it happened by $at and the finding was not reopened since.
_OBSERVED = "closed_at IS NOT NULL AND closed_at <= $at AND status <> 'reopened'"


def durations_sql() -> str:
    """SQL: one row per counted finding with its groups, `hours` open (rounded up) and `observed` (closed).

    Parameters: $at. Findings closed before they opened have hours < 0 (the caller counts them as invalid).
    This is the definition, one row per finding; analyze_persistence computes the same counts without
    materialising it.
    """
    return f"""WITH asset_groups AS ({asset_groups_sql()}),
counted AS (
  SELECT f.asset_id, f.severity, f.opened_at, {_OBSERVED} AS observed,
         CASE WHEN {_OBSERVED} THEN f.closed_at ELSE $at END AS ended_at
  FROM findings AS f
  WHERE f.opened_at <= $at AND f.status NOT IN {FINDING_NOT_COUNTED}
)
SELECT coalesce(c.severity, '{UNKNOWN}') AS severity,
       coalesce(a.team, '{UNKNOWN}') AS team,
       coalesce(a.criticality, '{UNKNOWN}') AS criticality,
       coalesce(a.scan_frequency, '{UNKNOWN}') AS scan_frequency,
       CASE WHEN c.ended_at < c.opened_at THEN -1
            ELSE CAST(ceil((epoch_us(c.ended_at) - epoch_us(c.opened_at)) / 3600e6) AS BIGINT) END AS hours,
       c.observed
FROM counted AS c
LEFT JOIN asset_groups AS a ON a.asset_id = c.asset_id"""


# The per-asset groups, numbered (`code`) so that the findings are counted by a small integer, not by
# three strings. It is a temporary table, not a CTE, because its size is then known: DuckDB builds the join's
# hash table on these few thousand assets and streams the millions of findings through it (from a CTE it
# estimated the assets as the larger side and hashed every finding instead, the single largest cost).
_ASSET_TABLE = "seclo_persistence_assets"


def _aggregate_sql() -> str:
    """SQL: (dimension, group, hours, observed, n) for every dimension, from the temporary asset table.

    The findings are counted once per (severity, asset group code, hours, observed), a few hundred thousand
    rows at most; the dimensions are rolled up from those counts with GROUPING SETS. Durations are whole
    hours rounded up, computed on epoch microseconds: (us + 3600e6 - 1) // 3600e6 is ceil(us / 3600e6) for
    us >= 0, exactly, as in durations_sql.
    """
    dims = [d for d in DIMENSIONS if d != "all"]
    sets = ", ".join(["(hours, observed)", *(f"({d}, hours, observed)" for d in dims)])
    which = " ".join(f"WHEN grouping({d}) = 0 THEN '{d}'" for d in dims)
    value = " ".join(f"WHEN grouping({d}) = 0 THEN {d}" for d in dims)
    return f"""WITH fine AS (
  SELECT f.severity, a.code,
         CASE WHEN f.ended < f.opened THEN -1
              ELSE (f.ended - f.opened + 3599999999) // 3600000000 END AS hours,
         f.observed, count(*) AS n
  FROM (
    SELECT asset_id, severity, epoch_us(opened_at) AS opened, {_OBSERVED} AS observed,
           CASE WHEN {_OBSERVED} THEN epoch_us(closed_at) ELSE epoch_us($at) END AS ended
    FROM findings
    WHERE opened_at <= $at AND status NOT IN {FINDING_NOT_COUNTED}
  ) AS f
  LEFT JOIN {_ASSET_TABLE} AS a ON a.asset_id = f.asset_id
  GROUP BY ALL
),
codes AS (SELECT DISTINCT code, team, criticality, scan_frequency FROM {_ASSET_TABLE}),
named AS (
  SELECT coalesce(f.severity, '{UNKNOWN}') AS severity,
         coalesce(c.team, '{UNKNOWN}') AS team,
         coalesce(c.criticality, '{UNKNOWN}') AS criticality,
         coalesce(c.scan_frequency, '{UNKNOWN}') AS scan_frequency,
         f.hours, f.observed, f.n
  FROM fine AS f LEFT JOIN codes AS c ON c.code = f.code
  WHERE f.hours >= 0
)
SELECT CASE {which} ELSE 'all' END AS dimension,
       CASE {value} ELSE 'all' END AS grp,
       hours, observed, CAST(sum(n) AS BIGINT) AS n
FROM named
GROUP BY GROUPING SETS ({sets})
ORDER BY dimension, grp, hours, observed"""


def _counts(conn: duckdb.DuckDBPyConnection, at: datetime) -> dict[str, npt.NDArray[Any]]:
    """The rows of _aggregate_sql at `at`, with the temporary asset table around the query."""
    params = {"at": at}
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_ASSET_TABLE} AS
SELECT *, CAST(dense_rank() OVER (ORDER BY team, criticality, scan_frequency) AS INTEGER) AS code
FROM ({asset_groups_sql()})""",
        params,
    ).fetchall()
    try:
        return conn.execute(_aggregate_sql(), params).fetchnumpy()
    finally:
        run(conn, f"DROP TABLE IF EXISTS {_ASSET_TABLE}")


def _first_time_at_or_below(
    times: npt.NDArray[np.float64], values: npt.NDArray[np.float64], level: float
) -> float:
    """The first time a non-increasing curve is <= level (inf if it never is): lifelines' qth_survival_time,
    the same search on the same arrays without building a pandas object per call."""
    if values[-1] > level:
        return math.inf
    return float(times[np.searchsorted(-values, -level)])


def _quantiles(
    times: npt.NDArray[np.float64],
    survival: npt.NDArray[np.float64],
    lower: npt.NDArray[np.float64],
    upper: npt.NDArray[np.float64],
) -> tuple[Quantile, ...]:
    # Time to close `share` of the findings = first time the share still open is <= 1 - share. The interval
    # comes from the same crossing of the pointwise band (lifelines' median_survival_times).
    return tuple(
        Quantile(
            share,
            _first_time_at_or_below(times, survival, 1.0 - share),
            _first_time_at_or_below(times, lower, 1.0 - share),
            _first_time_at_or_below(times, upper, 1.0 - share),
        )
        for share in QUANTILE_SHARES
    )


def fit_kaplan_meier(
    dimension: Dimension,
    group: str,
    days: npt.NDArray[np.float64],
    observed: npt.NDArray[np.bool_],
    counts: npt.NDArray[np.int64],
) -> SurvivalCurve:
    """Fit lifelines' Kaplan-Meier estimator to unique durations (days) weighted by their counts."""
    from lifelines import KaplanMeierFitter  # noqa: PLC0415 - lifelines imports pandas: slow

    fitter = KaplanMeierFitter()
    with warnings.catch_warnings():
        # lifelines warns that weights may be "not integers" as floats; ours are exact counts.
        warnings.simplefilter("ignore")
        fitter.fit(days, event_observed=observed, weights=counts)
    ci = fitter.confidence_interval_survival_function_
    total = int(counts.sum())
    closed = int(counts[observed].sum())
    times = np.asarray(fitter.survival_function_.index, dtype=np.float64)
    survival = np.asarray(fitter.survival_function_.iloc[:, 0], dtype=np.float64)
    lower = np.asarray(ci.iloc[:, 0], dtype=np.float64)
    upper = np.asarray(ci.iloc[:, 1], dtype=np.float64)
    return SurvivalCurve(
        dimension=dimension,
        group=group,
        findings=total,
        closed=closed,
        censored=total - closed,
        times=times,
        survival=survival,
        lower=lower,
        upper=upper,
        quantiles=_quantiles(times, survival, lower, upper),
    )


def _group_order(dimension: str, group: str) -> tuple[int, int, str]:
    order = {
        "severity": ("critical", "high", "medium", "low", "none", "unknown"),
        "criticality": ("critical", "high", "medium", "low"),
        "scan_frequency": (SINGLE_SCAN, *(label for label, _ in SCAN_BUCKETS)),
    }.get(dimension, ())
    rank = order.index(group) if group in order else len(order)
    return DIMENSIONS.index(dimension), rank, group


def analyze_persistence(store: Store, at: datetime) -> PersistenceResult:
    """Kaplan-Meier curves of the findings open at any time up to `at`: overall and per group.

    Raises:
        InputError: no counted finding was opened by `at`.
    """
    conn = store.conn
    params = {"at": at}
    left_out = conn.execute(
        "SELECT count(*) FILTER (WHERE status IN " + FINDING_NOT_COUNTED + "),"
        " count(*) FILTER (WHERE status NOT IN " + FINDING_NOT_COUNTED + " AND closed_at < opened_at"
        " AND closed_at <= $at AND status <> 'reopened')"
        " FROM findings WHERE opened_at <= $at",
        params,
    ).fetchall()[0]
    rows = _counts(conn, at)
    dims = np.asarray(rows["dimension"], dtype=object)
    if not (dims == "all").any():
        raise InputError(
            f"no findings opened by {at:%Y-%m-%d %H:%M} to analyse",
            tip="Import findings first: seclo import findings FILE (or seclo generate --import).",
        )
    groups = np.asarray(rows["grp"], dtype=object)
    days = np.asarray(rows["hours"], dtype=np.float64) / 24.0
    observed = np.asarray(rows["observed"], dtype=np.bool_)
    counts = np.asarray(rows["n"], dtype=np.int64)
    # The rows come sorted by (dimension, group): each curve is one contiguous slice.
    starts = np.flatnonzero(np.r_[True, (dims[1:] != dims[:-1]) | (groups[1:] != groups[:-1])])
    ends = np.r_[starts[1:], len(dims)]
    slices = {(str(dims[a]), str(groups[a])): slice(a, b) for a, b in zip(starts, ends, strict=True)}
    curves = []
    for dimension, group in sorted(slices, key=lambda k: _group_order(*k)):
        part = slices[(dimension, group)]
        curves.append(fit_kaplan_meier(dimension, group, days[part], observed[part], counts[part]))  # type: ignore[arg-type]
    return PersistenceResult(
        at=at, curves=tuple(curves), not_counted=int(left_out[0]), invalid=int(left_out[1] or 0)
    )


def days_or_inf(value: float) -> str:
    """A number of days for a table: one decimal, or "not reached"."""
    return "not reached" if math.isinf(value) or math.isnan(value) else f"{value:.1f}"
