"""Render docs/data-model.md from the schema, so the documentation cannot drift from the store.

Run `python -m seclo.store.datamodel_doc > docs/data-model.md` after changing seclo.store.schema.
"""

from __future__ import annotations

from seclo.store.schema import RECORD_TABLES, TABLES, TableSpec

__all__ = ["render_data_model"]

_INTRO = """\
# seclo data model

Every table lives in the workspace's DuckDB store (`.seclo/store.duckdb` by default). All timestamps are UTC,
stored as DuckDB `TIMESTAMP` without a zone: importers convert offsets and local times on the way in. Enumerated
columns hold lower-case values. Each table also has two columns seclo maintains: `row_key` (a hash of the row's
content, used to recognise rows already imported) and `batch_id` (the import that wrote the row, see
`import_batches`).

Inventories (accounts, assets, ports, components) are snapshots: one row per item per `snapshot_time`. An SLI
over an inventory is evaluated at each snapshot, and the difference between two snapshots gives open and close
events.

How a re-import merges with what is stored:

- **multiset** tables (events and snapshots): a row whose exact content is already stored as many times as it
  appears in the file is a duplicate and is not added. Two identical log lines in one second stay two events.
- **upsert** tables (entities with a lifecycle): one row per key; a changed row replaces the stored one, so a
  later export of a finding that has been closed closes it.

Canonical files for `seclo import KIND` use these column names. CSV files need a header; a column the table
does not have is an error, missing optional columns are NULL. NDJSON objects may carry extra keys, which are
ignored. Parquet columns may be typed or text. In CSV, list columns (`commits`, `aliases`, `versions`) hold JSON.
"""

_BOOKKEEPING = """\
## import_batches

One row per imported file: `batch_id`, `kind`, `path`, `sha256`, `imported_at`, the counts `rows_read =
rows_loaded + rows_duplicate + rows_skipped + rows_rejected`, `notes` recording assumptions the importer made
(such as the year of syslog lines) and `options` (the year, time zone and snapshot time given). A file already
imported with the same content and the same options is skipped.

## rejected

One row per source row that was not loaded: `batch_id`, `source` (the file), `kind`, `line` (1-based line, or
record position for documents), `field` (the column at fault, when one is), `reason`, `raw` (the source text,
cut at 4,096 characters), `category` and `lines`: `invalid` rows are errors and fail a `--strict` import;
`skipped` rows are well-formed but not something the importer loads (a cron line in an auth log, a host that is
down). `lines` is 1, except for a run of consecutive skipped lines recorded without their text (the kernel and
cron lines of a syslog file): then the row stands for lines `line` to `line + lines - 1`, and the counts in
`import_batches` are `sum(lines)`. One row per line:
`SELECT *, unnest(generate_series(line, line + lines - 1)) AS each_line FROM rejected`. `seclo serve` records
here the Alertmanager alerts and inbox journal lines it cannot store (`kind` alertmanager, `batch_id` NULL,
`source` the journal, `line` counted over the journal's whole history; docs/prometheus.md).

## schema_version

The migrations applied to the store, by version.
"""

_RECORDS = """\
# Playbook records

Tables seclo writes while running playbooks (see docs/playbooks.md). Nothing is imported into them, so they have
no `row_key` or `batch_id`. `playbook_audit` is append-only: seclo never updates or deletes its rows, and each
row carries the hash of the one before, so `seclo playbook verify-audit` finds a changed or removed row.
"""


def render_data_model() -> str:
    """The Markdown for docs/data-model.md."""
    parts = [_INTRO]
    for spec in TABLES:
        kinds = ", ".join(f"`{k}`" for k in spec.kinds) or "written by seclo"
        key = f"; key ({', '.join(spec.key)})" if spec.key else ""
        parts.append(f"## {spec.name}\n\n{spec.doc} Import kind: {kinds}. Merge: {spec.merge}{key}.\n")
        parts += _columns(spec)
    parts.append(_BOOKKEEPING)
    parts.append(_RECORDS)
    for spec in RECORD_TABLES:
        parts.append(f"## {spec.name}\n\n{spec.doc}\n")
        parts += _columns(spec)
    return "\n".join(parts)


def _columns(spec: TableSpec) -> list[str]:
    lines = [
        "| column | type | required | values | meaning | OCSF / ECS / source field |",
        "|---|---|---|---|---|---|",
    ]
    for c in spec.columns:
        values = ", ".join(c.choices)
        required = "yes" if c.required else ""
        lines.append(f"| {c.name} | {c.sql_type} | {required} | {values} | {c.doc} | {c.maps_to} |")
    lines.append("")
    return lines


if __name__ == "__main__":
    print(render_data_model(), end="")
