"""User SLIs: a SQL query over the store, bucketed into slices and cut to the window by seclo."""

from __future__ import annotations

import re
from typing import ClassVar

import duckdb
from pydantic import Field, field_validator

from seclo.errors import ConfigError
from seclo.sli.interface import Indicator, IndicatorParams, SliKind, SliSeries, Window
from seclo.sli.slicing import bucket, in_window, narrow

__all__ = ["CustomSql", "CustomSqlParams"]

_PARAMETER = re.compile(r"\$(start|end|step)\b")
_TIME_COLUMNS = ("slice_start", "time")


class CustomSqlParams(IndicatorParams):
    """Parameters of `sql`."""

    query: str = Field(
        description="A SELECT over the store returning columns good, total and slice_start or time; "
        "it may use $start, $end and $step."
    )

    @field_validator("query")
    @classmethod
    def _one_statement(cls, query: str) -> str:
        query = query.strip().rstrip(";").strip()
        if not query:
            raise ValueError("the query is empty")
        return query


class CustomSql(Indicator):
    """A user's own SLI: any query over the store returning (slice_start or time, good, total) rows.

    seclo keeps the rows whose time is in the window, re-buckets them by the step and sums good and total per
    slice, so the query may return one row per event (good 0 or 1, total 1) or pre-aggregated rows.
    """

    name: ClassVar[str] = "sql"
    summary: ClassVar[str] = "A user query over the store returning (time, good, total) rows."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = CustomSqlParams

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
        values = {"start": window.start, "end": window.end, "step": window.step}
        used = {name: values[name] for name in _PARAMETER.findall(p.query)}
        try:
            cursor = conn.execute(f"SELECT * FROM ({p.query}) AS user_rows LIMIT 0", used or None)
            cursor.fetchall()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"the SLI query does not run: {first}") from None
        names = [d[0] for d in cursor.description or []]
        missing = [c for c in ("good", "total") if c not in names]
        if not any(c in names for c in _TIME_COLUMNS):
            missing.append("slice_start or time")
        if missing:
            raise ConfigError(
                f"the SLI query must return columns good, total and slice_start or time; "
                f"missing {', '.join(missing)} (it returns {', '.join(names) or 'nothing'})"
            )
        return names

    def evaluate(self, conn: duckdb.DuckDBPyConnection, params: IndicatorParams, window: Window) -> SliSeries:
        """Check the query's columns, then run it wrapped (see Indicator.evaluate)."""
        names = self.columns(conn, params, window)
        bound = CustomSql(next(c for c in _TIME_COLUMNS if c in names))
        try:
            return Indicator.evaluate(bound, conn, params, window)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"the SLI query does not run: {first}") from None
