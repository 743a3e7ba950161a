"""Canonical CSV, NDJSON and Parquet files, one per table, read by DuckDB itself.

The columns are those of docs/data-model.md. CSV and Parquet files must not carry unknown columns (a typo would
silently lose data); NDJSON objects may carry extra keys, which are ignored.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import ClassVar

import duckdb

from seclo.errors import InputError
from seclo.importers.delimited import stage_delimited
from seclo.importers.interface import Importer, Staged, Staging
from seclo.importers.ndjson import stage_ndjson
from seclo.importers.typed import create_rejects, stage_typed
from seclo.store.schema import TABLES, TableSpec
from seclo.store.sql import quote_ident, run, scalar, sql_literal

__all__ = ["CanonicalImporter", "canonical_importers"]

_FORMATS = {".csv": "csv", ".tsv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson"}
_FORMATS |= {".parquet": "parquet", ".pq": "parquet"}


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in {".gz", ".zst"}]
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(
            f"{path}: cannot tell the format from the name; canonical files end in .csv, .tsv, .ndjson, "
            ".jsonl or .parquet"
        )
    return fmt


def _csv_header(path: Path, delimiter: str) -> list[str]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        first = handle.readline(1 << 16).strip("\0")  # NUL padding, as for every line (see lines.py)
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except (csv.Error, StopIteration):
        header = []
    header = [h.strip() for h in header]
    if not header or any(not h for h in header):
        raise InputError(f"{path}: line 1 must be a header naming the columns, got {first[:80]!r}")
    return header


def _check_columns(path: Path, spec: TableSpec, found: list[str]) -> None:
    unknown = [c for c in found if c not in spec.column_names]
    if unknown:
        raise InputError(
            f"{path}: unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for {spec.name} (its columns: {', '.join(spec.column_names)})"
        )
    missing = [c.name for c in spec.columns if c.required and c.name not in found]
    if missing:
        raise InputError(f"{path}: no column {', '.join(map(repr, missing))}, which {spec.name} requires")


class CanonicalImporter(Importer):
    """One canonical table, from CSV, NDJSON or Parquet."""

    spec: ClassVar[TableSpec]

    def is_binary(self, path: Path) -> bool:
        """Parquet is binary; CSV and NDJSON are text."""
        return _FORMATS.get(path.suffix.lower()) == "parquet"

    def stage(self, staging: Staging) -> Staged:
        """Stage the file according to its extension."""
        fmt = _format_of(staging.path)
        if fmt == "csv":
            return self._stage_csv(staging)
        if fmt == "parquet":
            return self._stage_parquet(staging)
        return self._stage_ndjson(staging)

    def _stage_csv(self, staging: Staging) -> Staged:
        path = staging.path
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        header = _csv_header(path, delimiter)
        _check_columns(path, self.spec, header)
        records, read = stage_delimited(staging, header, delimiter)
        raw = " || ',' || ".join(f"coalesce({quote_ident(h)}, '')" for h in header)
        rejects = create_rejects(staging)
        valid = stage_typed(
            staging,
            self.spec,
            records,
            {h: quote_ident(h) for h in header},
            raw=f"coalesce(_raw, {raw})",
            rejects=rejects,
            pre_field="_field",
            pre_reason="_problem",
        )
        return Staged(read, {self.spec.name: valid}, rejects)

    def _stage_parquet(self, staging: Staging) -> Staged:
        conn, path = staging.conn, staging.path
        relation = f"read_parquet({sql_literal(str(path))}, file_row_number = true)"
        try:
            described = conn.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        except duckdb.Error as exc:
            raise InputError(f"{path}: not a readable Parquet file: {str(exc).splitlines()[0]}") from None
        types = {r[0]: str(r[1]) for r in described if r[0] != "file_row_number"}
        _check_columns(path, self.spec, list(types))
        source = staging.temp_name("parquet")
        run(conn, f"CREATE TEMP VIEW {source} AS SELECT *, file_row_number + 1 AS _line FROM {relation}")
        rejects = create_rejects(staging)
        raw = (
            "to_json(struct_pack(" + ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in types) + "))"
        )
        valid = stage_typed(
            staging,
            self.spec,
            source,
            {c: quote_ident(c) for c in types},
            raw=f"CAST({raw} AS VARCHAR)",
            rejects=rejects,
            source_types=types,
            materialize=False,
        )
        read = int(scalar(conn, f"SELECT count(*) FROM {relation}"))
        return Staged(read, {self.spec.name: valid}, rejects)

    def _stage_ndjson(self, staging: Staging) -> Staged:
        return stage_ndjson(staging, self.spec)


def canonical_importers() -> list[type[Importer]]:
    """One importer class per canonical table that users import."""
    classes: list[type[Importer]] = []
    for spec in TABLES:
        for kind in spec.kinds:
            attrs = {
                "kind": kind,
                "summary": f"canonical {spec.name} rows from CSV, NDJSON or Parquet",
                "targets": (spec.name,),
                "spec": spec,
            }
            classes.append(type(f"Canonical_{kind}", (CanonicalImporter,), attrs))
    return classes
