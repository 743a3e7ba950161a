"""Patch SLAs: per severity, how many findings were fixed within their SLA days, which are past it now, and the
backlog within and past SLA over time (the burn-down).

The rule is the patch_latency SLI's: a finding of severity s has until deadline = opened_at + sla_days[s]. It is
closed within SLA when closed_at <= deadline; it breaches when it is still open at the deadline. Findings marked
false_positive or accepted never count, nor do severities without an SLA (none, unknown).

Reopened findings (restart rule): the clock does NOT restart (seclo.sli.slicing.REOPENED_RULE, the one rule
the patch_latency SLI applies too, through the same SQL, seclo.sli.slicing.finding_closed_at). The store keeps
one opened_at per finding and no reopening time, and a fix that did not hold is not a fix, so a finding whose
status is "reopened" is open and its deadline stays opened_at + sla_days, whatever closed_at says; when it is
closed again, the new closed_at is judged against that same deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from seclo.analytics.interface import Window
from seclo.errors import InputError
from seclo.sli.slicing import FINDING_NOT_COUNTED, REOPENED_RULE, finding_closed_at
from seclo.store import Store
from seclo.workspace import SlaDays

__all__ = [
    "RESTART_RULE",
    "SLA_SEVERITIES",
    "BurnDown",
    "OverdueFinding",
    "SeveritySla",
    "SlaResult",
    "analyze_sla",
    "counted_findings_sql",
]

SLA_SEVERITIES = ("critical", "high", "medium", "low")
RESTART_RULE = REOPENED_RULE


@dataclass(frozen=True, slots=True)
class SeveritySla:
    """SLA figures of one severity (or "all").

    Attributes:
        within_sla: closed by the deadline (and by the evaluation time).
        closed_late: closed after the deadline.
        open_past_sla: still open and past the deadline.
        open_within_sla: still open, deadline not reached yet (undecided).
        within_share: within_sla / (within_sla + closed_late + open_past_sla): the share of decided findings
            fixed in time (NaN when none is decided yet), as the patch_latency SLI counts it.
    """

    severity: str
    sla_days: int | None
    findings: int
    within_sla: int
    closed_late: int
    open_past_sla: int
    open_within_sla: int

    @property
    def within_share(self) -> float:
        decided = self.within_sla + self.closed_late + self.open_past_sla
        return self.within_sla / decided if decided else float("nan")


@dataclass(frozen=True, slots=True)
class OverdueFinding:
    """A finding open past its SLA at the evaluation time."""

    finding_id: str
    asset_id: str
    vuln_id: str
    severity: str
    opened_at: datetime
    deadline: datetime
    age_days: float
    overdue_days: float


@dataclass(frozen=True, slots=True)
class BurnDown:
    """Open findings within and past their SLA at each point of a regular grid."""

    times: tuple[datetime, ...]
    within_sla: npt.NDArray[np.int64]
    past_sla: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class SlaResult:
    """Everything `seclo analyze sla` reports."""

    at: datetime
    sla_days: SlaDays
    severities: tuple[SeveritySla, ...]
    overdue: tuple[OverdueFinding, ...]
    overdue_total: int
    burn_down: BurnDown
    restart_rule: str = RESTART_RULE

    def total(self) -> SeveritySla:
        """All severities together."""
        return next(s for s in self.severities if s.severity == "all")


def counted_findings_sql(sla_days: SlaDays) -> str:
    """SQL: counted findings opened by $at with their deadline and effective close (NULL while open).

    Columns: finding_id, asset_id, vuln_id, severity, opened_at, deadline, closed (the closed_at that counts:
    NULL when the finding is reopened or still open at $at).
    """
    sla = ", ".join(f"('{s}', {getattr(sla_days, s)})" for s in SLA_SEVERITIES)
    return f"""WITH sla(severity, days) AS (VALUES {sla})
SELECT f.finding_id, f.asset_id, f.vuln_id, f.severity, f.opened_at,
       f.opened_at + to_days(sla.days) AS deadline,
       CASE WHEN {finding_closed_at("f")} <= $at THEN f.closed_at END AS closed
FROM findings AS f
JOIN sla ON f.severity = sla.severity
WHERE f.opened_at <= $at AND f.status NOT IN {FINDING_NOT_COUNTED}"""


def _per_severity(store: Store, sla_days: SlaDays, at: datetime) -> tuple[SeveritySla, ...]:
    rows = store.conn.execute(
        f"""WITH f AS ({counted_findings_sql(sla_days)})
SELECT coalesce(severity, 'all'), count(*),
       count(*) FILTER (WHERE closed <= deadline),
       count(*) FILTER (WHERE closed > deadline),
       count(*) FILTER (WHERE closed IS NULL AND deadline < $at),
       count(*) FILTER (WHERE closed IS NULL AND deadline >= $at)
FROM f GROUP BY ROLLUP (severity)""",
        {"at": at},
    ).fetchall()
    found = {r[0]: r for r in rows}
    out = []
    for severity in (*SLA_SEVERITIES, "all"):
        r = found.get(severity, (severity, 0, 0, 0, 0, 0))
        days = getattr(sla_days, severity) if severity != "all" else None
        out.append(SeveritySla(severity, days, *(int(v) for v in r[1:])))
    return tuple(out)


def _overdue(
    store: Store, sla_days: SlaDays, at: datetime, limit: int
) -> tuple[tuple[OverdueFinding, ...], int]:
    query = f"""WITH f AS ({counted_findings_sql(sla_days)})
SELECT finding_id, asset_id, vuln_id, severity, opened_at, deadline,
       (epoch_us($at) - epoch_us(opened_at)) / 86400e6, (epoch_us($at) - epoch_us(deadline)) / 86400e6,
       count(*) OVER ()
FROM f WHERE closed IS NULL AND deadline < $at
ORDER BY deadline, finding_id LIMIT $limit"""
    rows = store.conn.execute(query, {"at": at, "limit": limit}).fetchall()
    total = int(rows[0][-1]) if rows else 0
    return tuple(OverdueFinding(*r[:-1]) for r in rows), total


def _burn_down(store: Store, sla_days: SlaDays, window: Window, step: timedelta) -> BurnDown:
    """Open findings within and past SLA at since, since + step, ... up to at.

    Each finding adds +1 "within" at opened_at and -1 at min(deadline, close); +1 "past" at the deadline and
    -1 at close when it was not closed by the deadline. DuckDB sums the changes per grid point (a change at t
    counts from the first point at or after t) and numpy accumulates them: one pass, no range join.
    """
    points = int((window.at - window.since) / step)
    query = f"""WITH f AS ({counted_findings_sql(sla_days)}),
changes(t, within, past) AS (
  SELECT opened_at, 1, 0 FROM f
  UNION ALL SELECT least(deadline, coalesce(closed, deadline)), -1, 0 FROM f
  UNION ALL SELECT deadline, 0, 1 FROM f WHERE closed IS NULL OR closed > deadline
  UNION ALL SELECT closed, 0, -1 FROM f WHERE closed > deadline
)
SELECT greatest(CAST(ceil((epoch_us(t) - epoch_us($since)) / $step_us) AS BIGINT), 0) AS k,
       sum(within) AS within, sum(past) AS past
FROM changes WHERE t <= $at GROUP BY k"""
    params = {"at": window.at, "since": window.since, "step_us": step / timedelta(microseconds=1)}
    rows = store.conn.execute(query, params).fetchnumpy()
    k = np.asarray(rows["k"], dtype=np.int64)
    keep = k <= points
    within = np.bincount(k[keep], weights=rows["within"][keep], minlength=points + 1)
    past = np.bincount(k[keep], weights=rows["past"][keep], minlength=points + 1)
    times = tuple(window.since + i * step for i in range(points + 1))
    return BurnDown(times, np.cumsum(within).astype(np.int64), np.cumsum(past).astype(np.int64))


def analyze_sla(
    store: Store,
    window: Window,
    sla_days: SlaDays | None = None,
    *,
    step: timedelta = timedelta(days=1),
    limit: int = 20,
) -> SlaResult:
    """Per-severity SLA figures at window.at, the `limit` longest-overdue findings, and the burn-down over
    the window on a grid of `step`.

    Raises:
        InputError: no finding of a severity with an SLA was opened by window.at.
    """
    days = sla_days or SlaDays()
    severities = _per_severity(store, days, window.at)
    if severities[-1].findings == 0:
        raise InputError(
            f"no findings of severity critical, high, medium or low opened by {window.at:%Y-%m-%d %H:%M}",
            tip="Import findings first: seclo import findings FILE (or seclo generate --import).",
        )
    overdue, total = _overdue(store, days, window.at, limit)
    return SlaResult(
        at=window.at,
        sla_days=days,
        severities=severities,
        overdue=overdue,
        overdue_total=total,
        burn_down=_burn_down(store, days, window, step),
    )
