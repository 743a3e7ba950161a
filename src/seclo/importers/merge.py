"""Merging staged rows into a canonical table so that importing the same rows again adds nothing.

"multiset" tables (events, inventory snapshots) treat the store as a multiset of rows: a staged row whose
content already occurs in the store as often as in the staged file is a duplicate. This keeps two identical log
lines in one second as two events, while an overlapping export adds only what is new. "upsert" tables (findings,
incidents, deployments, advisories) keep one row per entity key: a changed row replaces the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from seclo.store.schema import TableSpec
from seclo.store.sql import changed, quote_ident, run, scalar

__all__ = ["Merged", "merge_table", "row_key_expression"]


@dataclass(frozen=True, slots=True)
class Merged:
    """Rows added to (or replaced in) the table, and staged rows that were already there."""

    loaded: int
    duplicate: int


def row_key_expression(spec: TableSpec) -> str:
    """SQL hashing a row's content (all canonical columns) to a 64-bit key."""
    return "hash(" + ", ".join(quote_ident(c) for c in spec.column_names) + ")"


def _merge_multiset(conn: duckdb.DuckDBPyConnection, spec: TableSpec, staged: str, batch_id: int) -> Merged:
    columns = ", ".join(quote_ident(c) for c in spec.column_names)
    time_col = quote_ident(spec.time_column or spec.column_names[0])
    key = row_key_expression(spec)
    # Written first, in one read of `staged` (which may be a view over the file, parsed as it is read): most
    # imports bring a time range the store does not hold yet, and then there is nothing to compare.
    total = changed(conn, f"INSERT INTO {spec.name} SELECT {columns}, {key}, {batch_id} FROM {staged}")
    if total == 0:
        return Merged(0, 0)
    lo, hi = conn.execute(
        f"SELECT min({time_col}), max({time_col}) FROM {spec.name} WHERE batch_id = ?", [batch_id]
    ).fetchall()[0]
    overlap = scalar(
        conn,
        f"""SELECT count(*) > 0 FROM (SELECT 1 FROM {spec.name}
            WHERE {time_col} BETWEEN ? AND ? AND batch_id IS DISTINCT FROM ? LIMIT 1)""",
        [lo, hi, batch_id],
    )
    if not overlap:
        return Merged(total, 0)
    # The store already holds rows in this time range: take this batch back out and add only the new rows.
    # The n-th staged copy of a row is new only if the store holds fewer than n copies of it. Joining on the
    # time column as well as the hash makes a hash collision harmless.
    run(conn, f"DELETE FROM {spec.name} WHERE batch_id = ?", [batch_id])
    loaded = changed(
        conn,
        f"""
        INSERT INTO {spec.name}
        WITH staged AS (
            SELECT {columns}, {key} AS row_key,
                row_number() OVER (PARTITION BY {key} ORDER BY _line) AS occurrence
            FROM {staged}
        ),
        stored AS (
            SELECT row_key, {time_col} AS t, count(*) AS copies FROM {spec.name}
            WHERE {time_col} BETWEEN ? AND ? GROUP BY ALL
        )
        SELECT {", ".join("s." + quote_ident(c) for c in spec.column_names)}, s.row_key, {batch_id}
        FROM staged s LEFT JOIN stored o ON o.row_key = s.row_key AND o.t IS NOT DISTINCT FROM s.{time_col}
        WHERE s.occurrence > coalesce(o.copies, 0)
        """,
        [lo, hi],
    )
    return Merged(loaded, total - loaded)


def _merge_upsert(conn: duckdb.DuckDBPyConnection, spec: TableSpec, staged: str, batch_id: int) -> Merged:
    columns = ", ".join(quote_ident(c) for c in spec.column_names)
    keys = ", ".join(quote_ident(k) for k in spec.key)
    total = int(scalar(conn, f"SELECT count(*) FROM {staged}"))
    if total == 0:
        return Merged(0, 0)
    latest = f"_latest_{batch_id}_{spec.name}"
    # Within one file the last row for a key wins; earlier ones are superseded (counted as duplicates).
    run(
        conn,
        f"""CREATE TEMP TABLE {latest} AS
        SELECT {columns}, {row_key_expression(spec)} AS row_key FROM {staged}
        QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _line DESC) = 1""",
    )
    try:
        join = " AND ".join(f"t.{quote_ident(k)} IS NOT DISTINCT FROM n.{quote_ident(k)}" for k in spec.key)
        run(
            conn,
            f"""DELETE FROM {spec.name} t WHERE EXISTS (
                SELECT 1 FROM {latest} n WHERE {join} AND n.row_key <> t.row_key)""",
        )
        loaded = changed(
            conn,
            f"""INSERT INTO {spec.name}
            SELECT {columns}, row_key, {batch_id} FROM {latest} n
            WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {join})""",
        )
    finally:
        run(conn, f"DROP TABLE IF EXISTS {latest}")
    return Merged(loaded, total - loaded)


def merge_table(conn: duckdb.DuckDBPyConnection, spec: TableSpec, staged: str, batch_id: int) -> Merged:
    """Merge the staging relation `staged` (the table's columns plus `_line`) into `spec`'s table."""
    if spec.merge == "upsert":
        return _merge_upsert(conn, spec, staged, batch_id)
    return _merge_multiset(conn, spec, staged, batch_id)
