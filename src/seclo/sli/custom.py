"""User SLIs: a SQL query over the store, bucketed into slices and cut to the window by seclo."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import duckdb
from pydantic import Field, field_validator, model_validator

from seclo.errors import ConfigError
from seclo.sli.interface import Indicator, IndicatorParams, SliKind, SliSeries, Window
from seclo.sli.slicing import bucket, in_window, narrow
from seclo.store.user_sql import user_sql_problem

__all__ = [
    "CustomSql",
    "CustomSqlParams",
    "SqlRatio",
    "SqlRatioParams",
    "SqlThreshold",
    "SqlThresholdParams",
]

_PARAMETER = re.compile(r"\$(start|end|step)\b")
_TIME_COLUMNS = ("slice_start", "time")


def _statement(query: str) -> str:
    query = query.strip().rstrip(";").strip()
    if not query:
        raise ValueError("the query is empty")
    return query


def _query_columns(conn: duckdb.DuckDBPyConnection, query: str, window: Window, role: str) -> list[str]:
    """The column names `query` returns (planned and run with no rows).

    Raises:
        ConfigError: the query does not run.
    """
    problem = user_sql_problem(conn, query)
    if problem is not None:
        raise ConfigError(f"the SLI {role}query is refused: {problem}")
    values = {"start": window.start, "end": window.end, "step": window.step}
    used = {name: values[name] for name in _PARAMETER.findall(query)}
    try:
        cursor = conn.execute(f"SELECT * FROM ({query}) AS user_rows LIMIT 0", used or None)
        cursor.fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"the SLI {role}query does not run: {first}") from None
    return [d[0] for d in cursor.description or []]


def _time_column(names: list[str], role: str, needs: tuple[str, ...] = ()) -> str:
    """The query's time column (slice_start or time).

    Raises:
        ConfigError: it has none, or lacks one of `needs` (the message lists what it returns).
    """
    missing = [c for c in needs if c not in names]
    if not any(c in names for c in _TIME_COLUMNS):
        missing.append("slice_start or time")
    if missing:
        wanted = ", ".join((*needs, "slice_start or time"))
        raise ConfigError(
            f"the SLI {role}query must return columns {wanted}; "
            f"missing {', '.join(missing)} (it returns {', '.join(names) or 'nothing'})"
        )
    return next(c for c in _TIME_COLUMNS if c in names)


def _run_user_sql(
    indicator: Indicator, conn: duckdb.DuckDBPyConnection, params: IndicatorParams, window: Window
) -> SliSeries:
    try:
        return Indicator.evaluate(indicator, conn, params, window)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"the SLI query does not run: {first}") from None


class CustomSqlParams(IndicatorParams):
    """Parameters of `sql`."""

    query: str = Field(
        description="A SELECT over the store returning columns good, total and slice_start or time; "
        "it may use $start, $end and $step."
    )

    @field_validator("query")
    @classmethod
    def _one_statement(cls, query: str) -> str:
        return _statement(query)


class CustomSql(Indicator):
    """A user's own SLI: any query over the store returning (slice_start or time, good, total) rows.

    seclo keeps the rows whose time is in the window, re-buckets them by the step and sums good and total per
    slice, so the query may return one row per event (good 0 or 1, total 1) or pre-aggregated rows.
    """

    name: ClassVar[str] = "sql"
    summary: ClassVar[str] = "A user query over the store returning (time, good, total) rows."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = CustomSqlParams
    example: ClassVar[dict[str, Any]] = {
        "query": "SELECT time, (outcome = 'success')::INT AS good, 1 AS total FROM auth_events "
        "WHERE service = 'vpn'"
    }

    def __init__(self, time_column: str = "time") -> None:
        """`time_column` is the column of the user's rows holding their time (slice_start or time)."""
        self.time_column = time_column

    def sql(self, params: IndicatorParams) -> str:
        """Wrap the user's query: filter to the window, bucket by the step and sum per slice."""
        p = narrow(params, CustomSqlParams)
        return self._wrap(p.query, self.time_column)

    @staticmethod
    def _wrap(query: str, time_column: str) -> str:
        t = f"user_rows.{time_column}"
        return f"""WITH user_rows AS (
{query}
)
SELECT {bucket(t)} AS slice_start,
       sum(user_rows.good)::DOUBLE AS good,
       sum(user_rows.total)::DOUBLE AS total
FROM user_rows
WHERE {in_window(t)}
GROUP BY slice_start"""

    def columns(self, conn: duckdb.DuckDBPyConnection, params: IndicatorParams, window: Window) -> list[str]:
        """The column names the user's query returns (it is planned and run with no rows).

        Raises:
            ConfigError: the query does not run, or lacks good, total or a time column.
        """
        p = narrow(params, CustomSqlParams)
        names = _query_columns(conn, p.query, window, "")
        _time_column(names, "", ("good", "total"))
        return names

    def evaluate(self, conn: duckdb.DuckDBPyConnection, params: IndicatorParams, window: Window) -> SliSeries:
        """Check the query's columns, then run it wrapped (see Indicator.evaluate)."""
        names = self.columns(conn, params, window)
        return _run_user_sql(CustomSql(_time_column(names, "")), conn, params, window)


class SqlRatioParams(IndicatorParams):
    """Parameters of `sql_ratio`: `good` or `bad`, and `total`."""

    good: str | None = Field(
        None,
        description="A SELECT returning one row per good event, with a time or slice_start column "
        "(and optionally value, the row's count).",
    )
    bad: str | None = Field(None, description="Instead of good: a SELECT returning the bad events, likewise.")
    total: str = Field(description="A SELECT returning every event, likewise.")

    @field_validator("good", "bad", "total")
    @classmethod
    def _one_statement(cls, query: str | None) -> str | None:
        return None if query is None else _statement(query)

    @model_validator(mode="after")
    def _good_or_bad(self) -> SqlRatioParams:
        if (self.good is None) == (self.bad is None):
            raise ValueError("expected a good or a bad query (one of them, not both)")
        return self


@dataclass(frozen=True, slots=True)
class _Shape:
    """How a user query's rows are read: its time column, and whether a value column holds counts."""

    time: str = "time"
    value: bool = False

    def counted(self, query: str, name: str) -> str:
        t = f"q.{self.time}"
        amount = "sum(q.value)" if self.value else "count(*)"
        return f"""{name} AS (
  SELECT {bucket(t)} AS slice_start, {amount}::DOUBLE AS n
  FROM ({query}) AS q
  WHERE {in_window(t)}
  GROUP BY slice_start
)"""


def _shape(conn: duckdb.DuckDBPyConnection, query: str, window: Window, role: str) -> _Shape:
    names = _query_columns(conn, query, window, f"{role} ")
    return _Shape(_time_column(names, f"{role} "), "value" in names)


class SqlRatio(Indicator):
    """A user's own ratio SLI from two queries: the good (or bad) events and all events.

    Each query returns one row per event with a `time` (or `slice_start`) column, or pre-aggregated rows with
    a `value` column holding their count. seclo buckets both by the step and keeps the window; good per
    slice is the good count (or total minus bad), cut to [0, total] so that queries which disagree cannot
    yield a ratio above 1 or below 0.
    """

    name: ClassVar[str] = "sql_ratio"
    summary: ClassVar[str] = "Two user queries over the store: good (or bad) events and all events."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = SqlRatioParams
    example: ClassVar[dict[str, Any]] = {
        "good": "SELECT time FROM auth_events WHERE service = 'vpn' AND outcome = 'success'",
        "total": "SELECT time FROM auth_events WHERE service = 'vpn'",
    }

    def __init__(self, first: _Shape | None = None, total: _Shape | None = None) -> None:
        """The shapes of the good (or bad) query and of the total query; found by `evaluate`."""
        self.first = first or _Shape()
        self.total = total or _Shape()

    def sql(self, params: IndicatorParams) -> str:
        """Bucket both queries and join them per slice."""
        p = narrow(params, SqlRatioParams)
        first = p.good if p.good is not None else p.bad or ""
        good = "coalesce(f.n, 0)" if p.good is not None else "coalesce(t.n, 0) - coalesce(f.n, 0)"
        return f"""WITH {self.first.counted(first, "first_rows")},
{self.total.counted(p.total, "total_rows")}
SELECT coalesce(t.slice_start, f.slice_start) AS slice_start,
       greatest(least({good}, coalesce(t.n, 0)), 0) AS good,
       coalesce(t.n, 0) AS total
FROM total_rows AS t FULL JOIN first_rows AS f ON f.slice_start = t.slice_start"""

    def evaluate(self, conn: duckdb.DuckDBPyConnection, params: IndicatorParams, window: Window) -> SliSeries:
        """Find each query's columns, then run them bucketed (see Indicator.evaluate)."""
        p = narrow(params, SqlRatioParams)
        role, first = ("good", p.good) if p.good is not None else ("bad", p.bad or "")
        bound = SqlRatio(_shape(conn, first, window, role), _shape(conn, p.total, window, "total"))
        return _run_user_sql(bound, conn, params, window)


_OPERATORS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


class SqlThresholdParams(IndicatorParams):
    """Parameters of `sql_threshold`."""

    query: str = Field(
        description="A SELECT returning one row per event with columns value and time (or slice_start)."
    )
    op: Literal["lt", "lte", "gt", "gte"] = Field(
        description="How a good event's value compares with `value`."
    )
    value: float = Field(description="The threshold.", allow_inf_nan=False)

    @field_validator("query")
    @classmethod
    def _one_statement(cls, query: str) -> str:
        return _statement(query)


class SqlThreshold(Indicator):
    """A user's own threshold SLI: each row of the query is an event, good when `value op threshold`.

    This is OpenSLO's thresholdMetric (for example a login's latency below 2 seconds): the objective's `op`
    and `value` give the comparison. Rows whose value is NULL count as bad.
    """

    name: ClassVar[str] = "sql_threshold"
    summary: ClassVar[str] = "A user query of (time, value) rows; good when the value meets a threshold."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = SqlThresholdParams
    example: ClassVar[dict[str, Any]] = {
        "query": "SELECT closed_at AS time, epoch(closed_at - opened_at) / 3600 AS value FROM findings "
        "WHERE closed_at IS NOT NULL",
        "op": "lte",
        "value": 168,
    }

    def __init__(self, time_column: str = "time") -> None:
        """`time_column` is the column of the user's rows holding their time (slice_start or time)."""
        self.time_column = time_column

    def sql(self, params: IndicatorParams) -> str:
        """Bucket the rows and count those meeting the threshold."""
        p = narrow(params, SqlThresholdParams)
        t = f"q.{self.time_column}"
        return f"""SELECT {bucket(t)} AS slice_start,
       (count(*) FILTER (WHERE q.value {_OPERATORS[p.op]} {p.value!r}))::DOUBLE AS good,
       count(*)::DOUBLE AS total
FROM ({p.query}) AS q
WHERE {in_window(t)}
GROUP BY slice_start"""

    def evaluate(self, conn: duckdb.DuckDBPyConnection, params: IndicatorParams, window: Window) -> SliSeries:
        """Find the query's time column, then run it bucketed (see Indicator.evaluate)."""
        p = narrow(params, SqlThresholdParams)
        names = _query_columns(conn, p.query, window, "")
        bound = SqlThreshold(_time_column(names, "", ("value",)))
        return _run_user_sql(bound, conn, params, window)
