"""SQL fragments every indicator shares: slice alignment, the window filter and snapshot selection.

Parameter values from SLO files are validated by pydantic before they reach SQL, and strings are always
written as quoted literals (seclo.store.sql.sql_literal), so no user text is spliced in raw.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from seclo.sli.interface import IndicatorParams
from seclo.store.sql import sql_literal

__all__ = [
    "FINDING_NOT_COUNTED",
    "REOPENED_RULE",
    "bucket",
    "by_deadline",
    "finding_closed_at",
    "in_list",
    "in_window",
    "latest_snapshot_per_slice",
    "narrow",
    "slice_number",
    "slice_start",
]

P = TypeVar("P", bound=IndicatorParams)

# Findings marked false positive or risk-accepted are not vulnerabilities to fix (as DefectDojo's SLA counts).
FINDING_NOT_COUNTED = "('false_positive', 'accepted')"

# The one rule for reopened findings, shared by the patch_latency SLI and `seclo analyze` (sla, persistence,
# together): the store keeps one opened_at per finding and no reopening time, and a fix that did not hold is
# not a fix, so a finding whose status is "reopened" is open whatever closed_at says. Its SLA clock does not
# restart: the deadline stays opened_at + sla_days, and a later closure is judged against that deadline.
REOPENED_RULE = (
    "A reopened finding is open from its original opened_at: its SLA clock does not restart, and a later "
    "closure is judged against the original deadline."
)


def finding_closed_at(alias: str = "f") -> str:
    """SQL: the finding's closure that counts (NULL while it is open), by REOPENED_RULE.

    `alias` names the findings table (or a CTE with its status and closed_at columns).
    """
    return f"CASE WHEN {alias}.status <> 'reopened' THEN {alias}.closed_at END"


def bucket(column: str) -> str:
    """The start of the slice holding `column`: slices are multiples of $step since the Unix epoch."""
    return f"time_bucket($step, {column}, TIMESTAMP '1970-01-01')"


def slice_number(column: str) -> str:
    """The slice holding `column` as an integer, 0 for the slice holding $start; only for `column` in the window.

    The same slices as `bucket`, computed with integer arithmetic on the stored microseconds. Grouping by it is
    much cheaper over millions of events than grouping by time_bucket: the key is a small integer whose range
    DuckDB knows from the column's statistics, so it aggregates into a perfect hash table (see
    seclo.store.connection). In the window `column` is at or after the origin, so // floors.
    """
    return f"(epoch_us({column}) - epoch_us({bucket('$start')})) // epoch_us($step)"


def slice_start(number: str) -> str:
    """The start (TIMESTAMP) of the slice `slice_number` numbered `number`."""
    return f"{bucket('$start')} + {number} * $step"


def in_window(column: str) -> str:
    """`column` lies in the half-open window [$start, $end)."""
    return f"{column} >= $start AND {column} < $end"


def in_list(column: str, values: Iterable[str]) -> str:
    """`column` is one of `values`, as quoted literals."""
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"


def latest_snapshot_per_slice(per_snapshot: str) -> str:
    """Wrap a query of (snapshot_time, good, total) rows, one per snapshot in the window, into slices.

    A slice holding several snapshots carries the latest one's counts: the state at the end of the slice.
    """
    return f"""WITH per_snapshot AS (
{per_snapshot}
)
SELECT {bucket("snapshot_time")} AS slice_start,
       arg_max(good, snapshot_time)::DOUBLE AS good,
       arg_max(total, snapshot_time)::DOUBLE AS total
FROM per_snapshot
GROUP BY slice_start"""


def by_deadline(source: str, done: str, deadline: str) -> str:
    """The tail of a WITH query counting things that must be done by a deadline, from the CTE `source`.

    Each counts once: when it was done if that was in time (good), else at its deadline (bad), so an overdue
    item is bad as soon as it is overdue, and one still inside its deadline is not counted yet.
    """
    return f"""events AS (
  SELECT coalesce({done} <= {deadline}, false) AS in_time,
         CASE WHEN {done} <= {deadline} THEN {done} ELSE {deadline} END AS t
  FROM {source}
)
SELECT {bucket("t")} AS slice_start,
       (count(*) FILTER (WHERE in_time))::DOUBLE AS good,
       count(*)::DOUBLE AS total
FROM events
WHERE {in_window("t")}
GROUP BY slice_start"""


def narrow(params: IndicatorParams, model: type[P]) -> P:
    """`params` as the indicator's own parameter model.

    Raises:
        TypeError: the caller passed another indicator's parameters (a programming error).
    """
    if not isinstance(params, model):
        raise TypeError(f"expected {model.__name__}, got {type(params).__name__}")
    return params
