"""SQL written by a user (`seclo query`, sql SLIs, store_query probes) may read the store's tables and no more.

The guard is DuckDB's own: such SQL runs on a sandboxed store (`open_store(sandboxed=True)`), where file
system and network access, extension loading and configuration changes are refused by the engine. A store
held open for writing cannot be sandboxed (the settings belong to DuckDB's per-process database instance and
cannot be undone), yet the playbook engine and the demo evaluate sql SLIs on one. So every user query is also
checked before it runs, by DuckDB's parser (`json_serialize_sql`): it must be SELECT statements only, whose
FROM clauses name tables (not files, as `FROM '/etc/passwd'` would) and table functions from a short list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import duckdb

__all__ = ["ALLOWED_TABLE_FUNCTIONS", "user_sql_problem"]

# Table functions that read nothing outside the store: series, and DuckDB's own catalog of the store.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "duckdb_tables",
        "duckdb_columns",
        "duckdb_views",
        "pragma_table_info",
    }
)
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# EXPLAIN [ANALYZE] of a query is checked as the query (the parser serialises SELECT statements only).
_EXPLAIN = re.compile(r"\s*EXPLAIN(\s+ANALY[SZ]E)?\s+", re.IGNORECASE)


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object of a parse tree, depth first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def user_sql_problem(conn: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """Why `sql` may not run as a user's query over the store, or None when it may.

    The parse runs on `conn` (no table is read, nothing is executed).
    """
    explained = _EXPLAIN.match(sql)
    if explained:
        sql = sql[explained.end() :]
    try:
        rows = conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    tree = json.loads(rows[0][0])
    if tree.get("error"):
        if tree.get("error_type") == "not implemented":
            return "the SQL is read-only: only SELECT statements may run (no changes, COPY, ATTACH, INSTALL, SET...)"
        return str(tree.get("error_message", "the SQL cannot be parsed"))
    for node in _nodes(tree["statements"]):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS:
                return f"the table function {name}() is not allowed: a query reads the store's tables only"
        elif kind == "BASE_TABLE":
            table = str(node.get("table_name", ""))
            if not _TABLE_NAME.fullmatch(table):
                return f"{table!r} is not a table name: a query reads the store's tables, not files or URLs"
    return None
