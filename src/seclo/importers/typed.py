"""Turning loosely typed source columns into a canonical table's rows, set-based, with a reason for each reject.

Each importer describes, per canonical column, a SQL expression over its source relation. This module casts
every expression to the column's type in one pass and, for each row, finds the first field that is missing, not
of the right type or not one of the allowed values. Valid rows go to one staging table, the others (with line,
field, reason and raw text) to a rejects table.
"""

from __future__ import annotations

from collections.abc import Mapping

from seclo.importers.interface import Staging
from seclo.importers.lines import MAX_RAW_CHARS
from seclo.store.schema import COMMITS_TYPE, Column, TableSpec
from seclo.store.sql import quote_ident, run

__all__ = ["REJECT_COLUMNS", "cast_expression", "create_rejects", "sql_literal", "stage_typed"]

REJECT_COLUMNS = "line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR, category VARCHAR"
_COMMITS_JSON = '[{"sha":"VARCHAR","committed_at":"TIMESTAMPTZ"}]'


def sql_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def cast_expression(column: Column, expr: str, source_type: str) -> str:  # noqa: PLR0911 - one case per type
    """SQL casting `expr` (of DuckDB type `source_type`) to the column's type, NULL where it does not fit."""
    if source_type.upper() == column.sql_type and not column.choices:
        return expr  # already typed (Parquet): nothing to convert
    if column.choices:
        return f"lower(trim(CAST({expr} AS VARCHAR)))"
    if column.sql_type == "TIMESTAMP":
        # Offsets are honoured and converted to UTC; a timestamp without one is taken as UTC.
        return f"CAST(try_cast({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if column.sql_type == COMMITS_TYPE:
        if source_type.upper() in {"VARCHAR", "JSON"}:
            parsed = f"try(json_transform_strict({expr}, {sql_literal(_COMMITS_JSON)}))"
            return f"try_cast({parsed} AS {COMMITS_TYPE})"
        return f"try_cast({expr} AS {COMMITS_TYPE})"
    if column.sql_type == "VARCHAR[]" and source_type.upper() in {"VARCHAR", "JSON"}:
        return f"try(json_transform_strict({expr}, '[\"VARCHAR\"]'))"
    if column.sql_type == "VARCHAR":
        return f"nullif(trim(CAST({expr} AS VARCHAR)), '')"
    return f"try_cast({expr} AS {column.sql_type})"


def _reason_cases(spec: TableSpec, present: Mapping[str, str]) -> tuple[str, str]:
    """CASE expressions giving the first failing field and its reason, over columns in_<i> and out_<i>."""
    fields: list[str] = []
    reasons: list[str] = []
    for i, col in enumerate(spec.columns):
        if col.name not in present:
            if col.required:
                raise ValueError(f"required column {col.name} has no source expression")
            continue
        name = sql_literal(col.name)
        shown = f"left(CAST(in_{i} AS VARCHAR), 80)"
        if col.required:
            fields.append(f"WHEN in_{i} IS NULL OR out_{i} IS NULL AND trim(CAST(in_{i} AS VARCHAR)) = '' ")
            fields[-1] += f"THEN {name}"
            reasons.append(f"WHEN in_{i} IS NULL OR out_{i} IS NULL AND trim(CAST(in_{i} AS VARCHAR)) = '' ")
            reasons[-1] += "THEN 'missing a value, which is required'"
        if col.choices:
            allowed = ", ".join(sql_literal(c) for c in col.choices)
            test = f"WHEN out_{i} IS NOT NULL AND out_{i} <> '' AND out_{i} NOT IN ({allowed}) "
            fields.append(test + f"THEN {name}")
            reasons.append(test + f"THEN 'must be one of {', '.join(col.choices)}, not ' || {shown}")
        else:
            test = f"WHEN in_{i} IS NOT NULL AND out_{i} IS NULL AND trim(CAST(in_{i} AS VARCHAR)) <> '' "
            fields.append(test + f"THEN {name}")
            reasons.append(test + f"THEN {sql_literal('not a valid ' + col.sql_type + ': ')} || {shown}")
    if not fields:
        return "NULL", "NULL"
    return "CASE " + " ".join(fields) + " END", "CASE " + " ".join(reasons) + " END"


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

    Returns:
        The name of the staging table of valid rows (the table's columns plus `_line`).
    """
    types = source_types or {}
    inner: list[str] = ["_line", f"{pre_field} AS _pre_field", f"{pre_reason} AS _pre_reason"]
    inner.append(f"{pre_category} AS _pre_category")
    inner.append(f"{raw} AS _raw")
    outs: list[str] = []
    for i, col in enumerate(spec.columns):
        expr = expressions.get(col.name)
        if expr is None:
            outs.append(f"CAST(NULL AS {col.sql_type}) AS {quote_ident(col.name)}")
            continue
        inner.append(f"{expr} AS in_{i}")
        inner.append(f"{cast_expression(col, f'in_{i}', types.get(col.name, 'VARCHAR'))} AS out_{i}")
        outs.append(f"CAST(out_{i} AS {col.sql_type}) AS {quote_ident(col.name)}")
    field_case, reason_case = _reason_cases(spec, expressions)
    checked = staging.temp_name(f"{spec.name}_checked")
    run(
        staging.conn,
        f"""
        CREATE TEMP TABLE {checked} AS
        SELECT _line, {", ".join(outs)},
            coalesce(_pre_reason, {reason_case}) AS _reason,
            CASE WHEN _pre_reason IS NOT NULL THEN _pre_field ELSE {field_case} END AS _field,
            CASE WHEN _pre_reason IS NOT NULL THEN _pre_category ELSE 'invalid' END AS _category,
            CASE WHEN _pre_reason IS NOT NULL OR ({reason_case}) IS NOT NULL
                THEN left(_raw, {MAX_RAW_CHARS}) END AS _raw
        FROM (SELECT {", ".join(inner)} FROM {source})
        """,
    )
    run(
        staging.conn,
        f"""INSERT INTO {rejects}
        SELECT _line, _field, _reason, _raw, _category FROM {checked} WHERE _reason IS NOT NULL""",
    )
    valid = staging.temp_name(spec.name)
    columns = ", ".join(quote_ident(c) for c in spec.column_names)
    run(
        staging.conn,
        f"CREATE TEMP VIEW {valid} AS SELECT {columns}, _line FROM {checked} WHERE _reason IS NULL",
    )
    return valid
