"""Read-only SQL over the store, for `seclo query` and store_query probes; CSV and JSON output."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import duckdb

from seclo.errors import InputError
from seclo.store.connection import Store
from seclo.store.user_sql import user_sql_problem

__all__ = ["QueryResult", "csv_cell", "run_query", "to_csv", "to_json"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def run_query(store: Store, sql: str, *, limit: int | None = None) -> QueryResult:
    """Run a user's `sql` against a store opened read-only (sandboxed: see seclo.store.user_sql).

    Raises:
        InputError: the SQL is invalid, tries to change the store, or reaches outside it (files, network,
            extensions, settings).
    """
    problem = user_sql_problem(store.conn, sql)
    if problem is not None:
        raise InputError(f"query refused: {problem}")
    try:
        result = store.conn.execute(sql)
        columns = tuple(d[0] for d in result.description or ())
        rows = result.fetchmany(limit) if limit else result.fetchall()
        if limit:
            result.fetchall()
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        if "read-only" in message.lower():
            raise InputError(f"seclo query is read-only: {message}") from None
        if isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in message:
            raise InputError(f"query refused: it may read the store's tables only ({message})") from None
        raise InputError(f"query failed: {message}") from None
    return QueryResult(columns, rows)


def _non_finite(value: float) -> str:
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _non_finite(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_json(result: QueryResult) -> str:
    """The rows as a JSON array of objects: valid JSON whatever the types (NaN and infinities, which JSON
    lacks, as strings; intervals, UUIDs and other values as their text)."""
    return json.dumps(
        [dict(zip(result.columns, map(_plain, row), strict=True)) for row in result.rows],
        indent=2,
        default=str,
        allow_nan=False,
    )


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """`value` for a CSV cell a spreadsheet shows as text, never runs as a formula.

    Text starting with = + - @, a tab or a carriage return gets a leading single quote, as OWASP advises
    (a user name `=HYPERLINK(...)` imported from a log stays text). Numbers are left alone, so a negative
    number from a numeric column stays a number; the same characters in any other value (the text "-5", an
    interval "-1 day") are quoted.
    """
    if value is None:
        return ""
    if isinstance(value, int | float):  # bool is an int; NaN and infinities stay numbers too
        return value
    plain = _plain(value)
    if isinstance(plain, int | float):  # bool is an int
        return plain
    text = str(plain)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(result: QueryResult) -> str:
    """The rows as CSV with a header, every text cell and column name safe to open in a spreadsheet.

    Text cells are always quoted, numbers never (OWASP: quote every cell; and Python's writer would leave a
    carriage return inside an unquoted cell, splitting the row for readers).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([csv_cell(name) for name in result.columns])
    for row in result.rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
