"""Turning loosely typed source columns into a canonical table's rows, set-based, with a reason for each reject.

Each importer describes, per canonical column, a SQL expression over its source relation. This module casts
every expression to the column's type in one pass and, for each row, finds the first field that is missing, not
of the right type or not one of the allowed values. Valid rows go to one staging table, the others (with line,
field, reason and raw text) to a rejects table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from seclo.importers.interface import Staging
from seclo.importers.lines import MAX_RAW_CHARS
from seclo.importers.timestamps import text_time_sql
from seclo.store.schema import COMMITS_TYPE, Column, TableSpec
from seclo.store.sql import quote_ident, run, sql_literal

__all__ = [
    "REJECT_COLUMNS",
    "cast_expression",
    "check_typed",
    "create_rejects",
    "insert_rejects",
    "stage_typed",
    "valid_rows",
]

REJECT_COLUMNS = (
    "line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR, category VARCHAR, lines BIGINT DEFAULT 1"
)
_COMMITS_JSON = '[{"sha":"VARCHAR","committed_at":"TIMESTAMPTZ"}]'


def cast_expression(column: Column, expr: str, source_type: str, timezone: str = "UTC") -> str:  # noqa: PLR0911
    """SQL casting `expr` (of DuckDB type `source_type`) to the column's type, NULL where it does not fit.

    Text becomes NULL when empty. Text timestamps honour their offset; without one they are local to
    `timezone`. Typed timestamps (Parquet) are taken as UTC.
    """
    if column.choices:
        text = f"CAST({expr} AS VARCHAR)"
        allowed = ", ".join(sql_literal(c) for c in column.choices)
        # Most values are already written as allowed: only the others are trimmed and lower-cased (a copy).
        return f"CASE WHEN {text} IN ({allowed}) THEN {text} ELSE lower(trim({text})) END"
    if column.sql_type == "VARCHAR":
        return f"nullif(CAST({expr} AS VARCHAR), '')"
    if source_type.upper() == column.sql_type:
        return expr  # already typed (Parquet): nothing to convert
    if column.sql_type == "TIMESTAMP":
        if source_type.upper() in {"VARCHAR", "JSON"}:
            return text_time_sql(expr, timezone)
        return f"CAST(try_cast({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if column.sql_type == COMMITS_TYPE:
        if source_type.upper() in {"VARCHAR", "JSON"}:
            parsed = f"try(json_transform_strict({expr}, {sql_literal(_COMMITS_JSON)}))"
            return f"try_cast({parsed} AS {COMMITS_TYPE})"
        return f"try_cast({expr} AS {COMMITS_TYPE})"
    if column.sql_type == "VARCHAR[]" and source_type.upper() in {"VARCHAR", "JSON"}:
        return f"try(json_transform_strict({expr}, '[\"VARCHAR\"]'))"
    return f"try_cast({expr} AS {column.sql_type})"


@dataclass(frozen=True, slots=True)
class _Checks:
    """SQL deciding each row's problem as a small integer code, and turning a code into field and reason."""

    code: str
    field: str
    reason: str


def _checks(spec: TableSpec, present: Mapping[str, str]) -> _Checks:
    """Build the checks over columns in_<i> (source value) and out_<i> (typed value).

    Finding the first problem yields only a number, so the common case (a valid row) costs one pass of cheap
    NULL tests; the reason text, with the offending value, is built only for rejected rows.
    """
    codes = ["WHEN _pre_reason IS NOT NULL THEN 0"]
    fields = ["WHEN 0 THEN _pre_field"]
    reasons = ["WHEN 0 THEN _pre_reason"]
    for i, col in enumerate(spec.columns):
        if col.name not in present:
            if col.required:
                raise ValueError(f"required column {col.name} has no source expression")
            continue
        missing, invalid = 2 * i + 1, 2 * i + 2
        blank = f"(in_{i} IS NULL OR trim(CAST(in_{i} AS VARCHAR)) = '')"
        if col.required:
            codes.append(f"WHEN out_{i} IS NULL THEN CASE WHEN {blank} THEN {missing} ELSE {invalid} END")
        else:
            codes.append(f"WHEN out_{i} IS NULL AND in_{i} IS NOT NULL AND NOT {blank} THEN {invalid}")
        if col.choices:
            allowed = ", ".join(sql_literal(c) for c in col.choices)
            codes.append(f"WHEN out_{i} <> '' AND out_{i} NOT IN ({allowed}) THEN {invalid}")
            problem = sql_literal(f"must be one of {', '.join(col.choices)}, not ")
        else:
            problem = sql_literal(f"not a valid {col.sql_type}: ")
        name = sql_literal(col.name)
        fields.append(f"WHEN {missing} THEN {name} WHEN {invalid} THEN {name}")
        reasons.append(f"WHEN {missing} THEN 'missing a value, which is required'")
        reasons.append(f"WHEN {invalid} THEN {problem} || left(CAST(in_{i} AS VARCHAR), 80)")
    return _Checks(
        code="CASE " + " ".join(codes) + " END",
        field="CASE _code " + " ".join(fields) + " END",
        reason="CASE _code " + " ".join(reasons) + " END",
    )


def create_rejects(staging: Staging) -> str:
    """Create an empty rejects staging table and return its name."""
    name = staging.temp_name("rejects")
    run(staging.conn, f"CREATE TEMP TABLE {name} ({REJECT_COLUMNS})")
    return name


def stage_typed(
    staging: Staging,
    spec: TableSpec,
    source: str,
    expressions: Mapping[str, str],
    *,
    raw: str,
    rejects: str,
    source_types: Mapping[str, str] | None = None,
    pre_field: str = "NULL",
    pre_reason: str = "NULL",
    pre_category: str = "'invalid'",
    materialize: bool = True,
) -> str:
    """Cast `source` rows into `spec`'s columns; valid rows go to a new staging table, the rest to `rejects`.

    Args:
        staging: the import context.
        spec: the canonical table.
        source: a relation with a `_line` column.
        expressions: canonical column -> SQL over `source`. Columns left out are NULL.
        raw: SQL over `source` giving the row's source text for the rejects table.
        rejects: the rejects staging table to append to.
        source_types: DuckDB type of each expression, where it is not VARCHAR.
        pre_field, pre_reason, pre_category: SQL giving a field, reason and category decided before typing
            (a line that is not JSON, a log line of another kind); non-NULL reasons win.
        materialize: keep the typed rows in a temporary table (worth it when the expressions are costly, as
            parsing JSON is); otherwise a view, so a typed source such as Parquet is read straight into the
            store without an intermediate copy.

    Returns:
        The name of the staging table of valid rows (the table's columns plus `_line`).
    """
    checked = check_typed(
        staging,
        spec,
        source,
        expressions,
        raw=raw,
        source_types=source_types,
        pre_field=pre_field,
        pre_reason=pre_reason,
        pre_category=pre_category,
        materialize=materialize,
    )
    insert_rejects(staging, checked, rejects)
    return valid_rows(staging, spec, checked)


def insert_rejects(staging: Staging, checked: str, rejects: str) -> None:
    """Append the rows of `checked` (made by `check_typed`) that have a reason to the rejects table."""
    run(
        staging.conn,
        f"""INSERT INTO {rejects} (line, field, reason, raw, category)
        SELECT _line, _field, _reason, _raw, _category FROM {checked} WHERE _reason IS NOT NULL""",
    )


def valid_rows(staging: Staging, spec: TableSpec, checked: str) -> str:
    """A view of the rows of `checked` (made by `check_typed`) that have no reason: the table's columns and
    `_line`."""
    valid = staging.temp_name(spec.name)
    columns = ", ".join(quote_ident(c) for c in spec.column_names)
    run(
        staging.conn,
        f"CREATE TEMP VIEW {valid} AS SELECT {columns}, _line FROM {checked} WHERE _reason IS NULL",
    )
    return valid


def check_typed(
    staging: Staging,
    spec: TableSpec,
    source: str,
    expressions: Mapping[str, str],
    *,
    raw: str,
    source_types: Mapping[str, str] | None = None,
    pre_field: str = "NULL",
    pre_reason: str = "NULL",
    pre_category: str = "'invalid'",
    materialize: bool = True,
) -> str:
    """The relation of `source` rows cast into `spec`'s columns, each with its reject reason or NULL.

    Its columns are `_line`, the table's columns, and `_reason`, `_field`, `_category`, `_raw` (NULL for a
    valid row). The arguments are those of `stage_typed`.
    """
    types = source_types or {}
    inputs: list[str] = []
    typed: list[str] = []
    outs: list[str] = []
    for i, col in enumerate(spec.columns):
        expr = expressions.get(col.name)
        if expr is None:
            outs.append(f"CAST(NULL AS {col.sql_type}) AS {quote_ident(col.name)}")
            continue
        inputs.append(f"{expr} AS in_{i}")
        cast = cast_expression(col, f"in_{i}", types.get(col.name, "VARCHAR"), staging.options.timezone)
        typed.append(f"{cast} AS out_{i}")
        outs.append(f"CAST(out_{i} AS {col.sql_type}) AS {quote_ident(col.name)}")
    checks = _checks(spec, expressions)
    checked = staging.temp_name(f"{spec.name}_checked")
    run(
        staging.conn,
        f"""
        CREATE TEMP {"TABLE" if materialize else "VIEW"} {checked} AS
        SELECT _line, {", ".join(outs)},
            CASE WHEN _code IS NOT NULL THEN {checks.reason} END AS _reason,
            CASE WHEN _code IS NOT NULL THEN {checks.field} END AS _field,
            CASE WHEN _code = 0 THEN {pre_category} WHEN _code IS NOT NULL THEN 'invalid' END AS _category,
            CASE WHEN _code IS NOT NULL THEN left({raw}, {MAX_RAW_CHARS}) END AS _raw
        FROM (
            SELECT *, {checks.code} AS _code
            FROM (
                SELECT *, {", ".join(typed) or "NULL AS _none"}
                FROM (
                    SELECT _src.*, {pre_field} AS _pre_field, {pre_reason} AS _pre_reason,
                        {", ".join(inputs) or "NULL AS _no_input"}
                    FROM {source} _src
                )
            )
        )
        """,
    )
    return checked
