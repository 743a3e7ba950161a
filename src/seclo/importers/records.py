"""Staging rows that an importer built in Python (small structured sources: XML scans, SBOMs, advisories).

These sources are documents, not streams of events: an nmap scan has hundreds of ports, an SBOM thousands of
components. The importer turns the document into records in Python; this module hands them to DuckDB as one
Arrow table and runs the same typed validation as every other format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from seclo.importers.interface import RejectedRow, Staging
from seclo.importers.typed import create_rejects, stage_typed
from seclo.store.schema import TableSpec
from seclo.store.sql import quote_ident, run

__all__ = ["stage_records", "stage_rejected_rows"]


def stage_rejected_rows(staging: Staging, rejected: Sequence[RejectedRow], into: str | None = None) -> str:
    """Write `rejected` into a rejects staging table (a new one unless `into` names one) and return its name."""
    name = into or create_rejects(staging)
    if rejected:
        table = pa.table(
            {
                "line": pa.array([r.line for r in rejected], pa.int64()),
                "field": pa.array([r.field for r in rejected], pa.string()),
                "reason": pa.array([r.reason for r in rejected], pa.string()),
                "raw": pa.array([r.raw for r in rejected], pa.string()),
                "category": pa.array([r.category for r in rejected], pa.string()),
            }
        )
        staging.conn.register("_seclo_rejected", table)
        run(
            staging.conn,
            f"INSERT INTO {name} (line, field, reason, raw, category) SELECT * FROM _seclo_rejected",
        )
        staging.conn.unregister("_seclo_rejected")
    return name


def stage_records(
    staging: Staging,
    spec: TableSpec,
    records: Sequence[Mapping[str, Any]],
    *,
    lines: Sequence[int | None],
    raws: Sequence[str | None],
    rejects: str,
) -> str:
    """Validate Python records as rows of `spec`; return the staging relation of valid rows.

    Args:
        staging: the import context.
        spec: the canonical table.
        records: one mapping per row, canonical column -> value. Values are converted to text (lists and
            dicts to JSON) and typed by the same rules as CSV.
        lines: each record's line (or position) in the source, for rejects.
        raws: each record's source text, for rejects.
        rejects: the rejects staging table to append invalid rows to.
    """
    import json  # noqa: PLC0415

    def text(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, list | dict):
            return json.dumps(value, default=str)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    columns: dict[str, pa.Array] = {
        "_line": pa.array(list(lines), pa.int64()),
        "_raw": pa.array(list(raws), pa.string()),
    }
    for name in spec.column_names:
        columns[name] = pa.array([text(r.get(name)) for r in records], pa.string())
    source = staging.temp_name(f"{spec.name}_records")
    staging.conn.register("_seclo_records", pa.table(columns))
    run(staging.conn, f"CREATE TEMP TABLE {source} AS SELECT * FROM _seclo_records")
    staging.conn.unregister("_seclo_records")
    return stage_typed(
        staging,
        spec,
        source,
        {n: quote_ident(n) for n in spec.column_names},
        raw="_raw",
        rejects=rejects,
    )
