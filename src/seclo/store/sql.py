"""Small helpers for running SQL on a DuckDB connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

__all__ = ["changed", "quote_ident", "run", "scalar", "sql_literal"]


def run(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Execute a statement to its end, so the connection is free for the next call."""
    conn.execute(sql, params).fetchall()


def changed(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> int:
    """Run an INSERT, UPDATE or DELETE and return how many rows it changed."""
    rows = conn.execute(sql, params).fetchall()
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The first column of the first row of a query, or None."""
    rows = conn.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
