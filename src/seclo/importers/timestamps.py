"""Reading timestamps from text in SQL: offsets honoured, zone-less times local to the user's time zone, UTC out."""

from __future__ import annotations

import duckdb

from seclo.errors import InputError
from seclo.store.sql import run, sql_literal

__all__ = ["check_timezone", "general_time_sql", "local_to_utc_sql", "text_time_sql"]


def check_timezone(conn: duckdb.DuckDBPyConnection, tz: str) -> None:
    """Refuse a time zone DuckDB does not know, before any line is read.

    Raises:
        InputError: the zone is unknown.
    """
    try:
        run(conn, "SELECT CAST(timezone(?::VARCHAR, TIMESTAMP '2000-01-01') AS TIMESTAMP)", [tz])
    except duckdb.Error:
        raise InputError(
            f"unknown time zone {tz!r}", tip="use an IANA name such as 'UTC' or 'Europe/Paris'"
        ) from None


def local_to_utc_sql(naive: str, tz: str) -> str:
    """SQL turning the naive TIMESTAMP `naive`, a wall-clock time in `tz`, into a naive UTC TIMESTAMP."""
    if tz == "UTC":
        return naive
    return f"try(CAST(timezone({sql_literal(tz)}, {naive}) AS TIMESTAMP))"


# A time of day followed by a zone: "Z", an offset or a zone name.
_HAS_ZONE = r"(?i)\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:z|[+-]\d\d(?::?\d\d)?|[a-z][a-z_/+-]*)\s*$"


# ISO 8601 without an offset. The plain TIMESTAMP cast reads such text (and text ending in "Z") exactly as the
# zone-aware ICU cast does, at a quarter of its cost, but it would drop any other offset or zone.
_ISO_NAIVE = r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?)?"


def text_time_sql(column: str, tz: str) -> str:
    """SQL reading the text `column` (ISO 8601 and the like) as a naive UTC TIMESTAMP, or NULL.

    An offset or zone in the text is honoured; a time without one is local to `tz`. "infinity" is NULL.
    """
    plain = f"try_cast({column} AS TIMESTAMP)"
    if tz == "UTC":
        shortcut = f"WHEN regexp_full_match({column}, {sql_literal(_ISO_NAIVE + 'Z?')}) THEN {plain}"
    else:
        shortcut = f"""WHEN regexp_full_match({column}, {sql_literal(_ISO_NAIVE + "Z")}) THEN {plain}
            WHEN regexp_full_match({column}, {sql_literal(_ISO_NAIVE)}) THEN {local_to_utc_sql(plain, tz)}"""
    return f"CASE {shortcut} ELSE {general_time_sql(column, tz)} END"


def general_time_sql(column: str, tz: str) -> str:
    """`text_time_sql` without its shortcut for plain ISO 8601: slower, and the reference it must agree with."""
    zoned = f"CAST(try_cast({column} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if tz != "UTC":
        naive = local_to_utc_sql(f"try_cast({column} AS TIMESTAMP)", tz)
        zoned = f"CASE WHEN regexp_matches({column}, {sql_literal(_HAS_ZONE)}) THEN {zoned} ELSE {naive} END"
    return f"CASE WHEN NOT contains(lower({column}), 'inf') THEN try({zoned}) END"
