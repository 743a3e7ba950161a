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


def _days_sql(sla_days: SlaDays) -> str:
    """SQL: the SLA days of `severity` (NULL for a severity without an SLA)."""
    whens = " ".join(f"WHEN '{s}' THEN {getattr(sla_days, s)}" for s in SLA_SEVERITIES)
    return f"CASE severity {whens} END"


_WITH_SLA = f"severity IN ({', '.join(repr(s) for s in SLA_SEVERITIES)})"


def counted_findings_sql(sla_days: SlaDays) -> str:
    """SQL: counted findings opened by $at with their deadline and effective close (NULL while open).

    Columns: finding_id, asset_id, vuln_id, severity, opened_at, deadline, closed (the closed_at that counts:
    NULL when the finding is reopened or still open at $at).
    """
    return f"""SELECT finding_id, asset_id, vuln_id, severity, opened_at,
       opened_at + to_days({_days_sql(sla_days)}) AS deadline,
       CASE WHEN {finding_closed_at("findings")} <= $at THEN closed_at END AS closed
FROM findings
WHERE opened_at <= $at AND status NOT IN {FINDING_NOT_COUNTED} AND {_WITH_SLA}"""


# Each counted finding is in one state at $at: closed within its SLA, closed late, open past its deadline or
# open before it.
WITHIN, LATE, PAST, OPEN = 0, 1, 2, 3


def _states_sql(sla_days: SlaDays) -> str:
    """SQL: counted findings by (severity, state, k_opened, k_deadline, k_closed), in one pass.

    k_t is the index of the first burn-down grid point at or after time t, clipped to 0 below and to
    $beyond (one past the last point: not on the grid) above; it is $beyond for a finding not closed. Times
    are epoch microseconds, so for t > since, k = ceil((t - since) / step) is the exact integer
    (t - since + step - 1) // step. The result has at most a few hundred thousand rows whatever the number
    of findings: everything before the window falls in k = 0.
    """
    # The CASE divides only the times after `since`: most findings are older than the window.
    grid = (
        "CASE WHEN {t} <= epoch_us($since) THEN 0"
        " ELSE least(({t} - epoch_us($since) + $step_us - 1) // $step_us, $beyond) END"
    )
    return f"""WITH f AS (
  SELECT severity, opened, opened + days * 86400000000 AS deadline, closed
  FROM (
    SELECT severity, epoch_us(opened_at) AS opened, {_days_sql(sla_days)} AS days,
           CASE WHEN {finding_closed_at("findings")} <= $at THEN epoch_us(closed_at) END AS closed
    FROM findings
    WHERE opened_at <= $at AND status NOT IN {FINDING_NOT_COUNTED} AND {_WITH_SLA}
  )
)
SELECT severity,
       CASE WHEN closed <= deadline THEN {WITHIN} WHEN closed > deadline THEN {LATE}
            WHEN deadline < epoch_us($at) THEN {PAST} ELSE {OPEN} END AS state,
       {grid.format(t="opened")} AS k_opened,
       {grid.format(t="deadline")} AS k_deadline,
       coalesce({grid.format(t="closed")}, $beyond) AS k_closed,
       count(*) AS n
FROM f
GROUP BY ALL"""


def _per_severity(
    sla_days: SlaDays,
    severity: npt.NDArray[np.object_],
    state: npt.NDArray[np.int64],
    n: npt.NDArray[np.int64],
) -> tuple[SeveritySla, ...]:
    out = []
    for name in (*SLA_SEVERITIES, "all"):
        mine = n if name == "all" else np.where(severity == name, n, 0)
        by_state = np.bincount(state, weights=mine, minlength=4).astype(np.int64)
        days = getattr(sla_days, name) if name != "all" else None
        out.append(
            SeveritySla(
                name,
                days,
                int(by_state.sum()),
                within_sla=int(by_state[WITHIN]),
                closed_late=int(by_state[LATE]),
                open_past_sla=int(by_state[PAST]),
                open_within_sla=int(by_state[OPEN]),
            )
        )
    return tuple(out)


def _overdue(store: Store, sla_days: SlaDays, at: datetime, limit: int) -> tuple[OverdueFinding, ...]:
    query = f"""WITH f AS ({counted_findings_sql(sla_days)})
SELECT finding_id, asset_id, vuln_id, severity, opened_at, deadline,
       (epoch_us($at) - epoch_us(opened_at)) / 86400e6, (epoch_us($at) - epoch_us(deadline)) / 86400e6
FROM f WHERE closed IS NULL AND deadline < $at
ORDER BY deadline, finding_id LIMIT $limit"""
    rows = store.conn.execute(query, {"at": at, "limit": limit}).fetchall()
    return tuple(OverdueFinding(*r) for r in rows)


def _burn_down(
    window: Window,
    step: timedelta,
    points: int,
    rows: dict[str, npt.NDArray[np.int64]],
) -> BurnDown:
    """Open findings within and past SLA at since, since + step, ... up to at.

    Each finding adds +1 "within" at opened_at and -1 at min(deadline, close); +1 "past" at the deadline and
    -1 at close when it was not closed by the deadline. A change at t counts from the first grid point at or
    after t, so the open backlog at each point is the running sum of the changes up to it.
    """
    state, n = rows["state"], rows["n"]
    late_or_open = state != WITHIN
    ended = np.where(late_or_open, rows["k_deadline"], rows["k_closed"])
    size = points + 2  # the last bin holds the changes after the grid, dropped

    def changes(k: npt.NDArray[np.int64], weights: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.asarray(np.bincount(k, weights=weights, minlength=size)[: points + 1], dtype=np.float64)

    within = changes(rows["k_opened"], n) - changes(ended, n)
    past = changes(rows["k_deadline"], np.where(late_or_open, n, 0)) - changes(
        rows["k_closed"], np.where(state == LATE, n, 0)
    )
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
    points = int((window.at - window.since) / step)
    params = {
        "at": window.at,
        "since": window.since,
        "step_us": step // timedelta(microseconds=1),
        "beyond": points + 1,
    }
    raw = store.conn.execute(_states_sql(days), params).fetchnumpy()
    rows = {
        k: np.asarray(raw[k], dtype=np.int64) for k in ("state", "k_opened", "k_deadline", "k_closed", "n")
    }
    severities = _per_severity(days, np.asarray(raw["severity"], dtype=object), rows["state"], rows["n"])
    if severities[-1].findings == 0:
        raise InputError(
            f"no findings of severity critical, high, medium or low opened by {window.at:%Y-%m-%d %H:%M}",
            tip="Import findings first: seclo import findings FILE (or seclo generate --import).",
        )
    return SlaResult(
        at=window.at,
        sla_days=days,
        severities=severities,
        overdue=_overdue(store, days, window.at, limit),
        overdue_total=severities[-1].open_past_sla,
        burn_down=_burn_down(window, step, points, rows),
    )
