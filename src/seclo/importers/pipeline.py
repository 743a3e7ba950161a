"""The import pipeline shared by every format: checks, one transaction, duplicates, rejects, counts.

For each file: refuse what is not a file of this kind (empty, binary, unreadable) with a one-line error; skip a
file already imported byte for byte; otherwise stage it with its importer and merge the staged rows into the
store in a single transaction, so an interrupted import leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from seclo.errors import InputError
from seclo.importers.interface import Importer, ImportOptions, ImportResult, Staged, Staging
from seclo.importers.lines import binary_offset
from seclo.importers.merge import merge_table
from seclo.progress import NullReporter, Reporter
from seclo.store.connection import Store
from seclo.store.schema import table
from seclo.store.sql import run, scalar

__all__ = ["file_digest", "import_path"]

_SNIFF_BYTES = 1 << 16


def file_digest(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (names and contents) for folder imports."""
    digest = hashlib.sha256()
    if path.is_dir():
        # Hidden files and folders (.git) are not imported, so they must not make a folder look changed.
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    else:
        files = [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):  # type: ignore[misc]
                digest.update(block)
    return digest.hexdigest()


def _check_readable(importer: Importer, path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        if not importer.accepts_directories:
            raise InputError(f"{path}: is a folder; `{importer.kind}` imports files")
        return
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if not head:
        raise InputError(f"{path}: the file is empty")
    if not importer.is_binary(path) and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            f"{path}: is UTF-16 text; seclo reads UTF-8",
            tip=f"convert it first: iconv -f UTF-16 -t UTF-8 {path} > converted",
        )
    # NUL padding (left by a crash) and a stray NUL are not binary: the line importers drop or reject them.
    offset = None if importer.is_binary(path) else binary_offset(head)
    if offset is not None:
        raise InputError(
            f"{path}: looks like a binary file (a NUL byte at offset {offset}), not a {importer.kind} text file"
        )


def _options_key(options: ImportOptions) -> str:
    """The options that change what a file's rows become (a syslog year, a time zone); strictness does not."""
    return json.dumps(
        {"year": options.year, "timezone": options.timezone, "snapshot_time": options.snapshot_time},
        default=str,
        sort_keys=True,
    )


def _already_imported(conn: duckdb.DuckDBPyConnection, kind: str, digest: str, options: str) -> int | None:
    found = scalar(
        conn,
        "SELECT min(batch_id) FROM import_batches WHERE kind = ? AND sha256 = ? AND options = ?",
        [kind, digest, options],
    )
    return None if found is None else int(found)


def _first_reject(conn: duckdb.DuckDBPyConnection, rejects: str, categories: Iterable[str]) -> str:
    wanted = ", ".join(f"'{c}'" for c in categories)
    row = conn.execute(
        f"SELECT line, field, reason FROM {rejects} WHERE category IN ({wanted}) ORDER BY line NULLS LAST LIMIT 1"
    ).fetchall()
    if not row:
        return ""
    line, field, reason = row[0]
    # A reason may quote a value holding a line break (a quoted CSV value): the message stays one line.
    reason = str(reason).replace("\r", "\\r").replace("\n", "\\n")
    where = f"line {line}" if line is not None else "a record"
    return f"{where}" + (f", field {field}" if field else "") + f": {reason}"


def _reject_counts(
    conn: duckdb.DuckDBPyConnection, staged: Staged, path: Path, options: ImportOptions
) -> tuple[int, int]:
    """The staged rejects' invalid and skipped rows; with --strict, an error if any is invalid."""
    if staged.rejected is None:
        return 0, 0
    counts = dict(
        conn.execute(f"SELECT category, sum(lines) FROM {staged.rejected} GROUP BY category").fetchall()
    )
    rejected, skipped = int(counts.get("invalid", 0)), int(counts.get("skipped", 0))
    if rejected and options.strict:
        first = _first_reject(conn, staged.rejected, ["invalid"])
        raise InputError(
            f"{path}: {rejected} invalid row{'s' if rejected > 1 else ''}, nothing loaded (--strict); "
            f"first at {first}"
        )
    return rejected, skipped


def _merge(conn: duckdb.DuckDBPyConnection, staged: Staged, batch_id: int) -> tuple[int, int, dict[str, int]]:
    """Merge each staged table into the store: rows loaded, rows that were duplicates, rows loaded per table."""
    loaded = duplicate = 0
    per_table: dict[str, int] = {}
    for name, relation in staged.tables.items():
        spec = table(name)
        if staged.settle is not None and spec.merge != "multiset":
            raise ValueError(f"a streamed stage cannot be merged into {name}, which is not a multiset table")
        merged = merge_table(conn, spec, relation, batch_id)
        loaded += merged.loaded
        duplicate += merged.duplicate
        per_table[name] = merged.loaded
    return loaded, duplicate, per_table


def import_path(
    store: Store,
    importer: Importer,
    path: Path,
    options: ImportOptions | None = None,
    reporter: Reporter | None = None,
) -> ImportResult:
    """Import one file (or folder, for importers that take folders) in one transaction.

    Raises:
        InputError: the file cannot be imported as this kind; with `strict`, any invalid row. The store is
            unchanged.
    """
    options = options or ImportOptions()
    reporter = reporter or NullReporter()
    _check_readable(importer, path)
    conn = store.conn
    digest = file_digest(path)
    options_key = _options_key(options)
    previous = _already_imported(conn, importer.kind, digest, options_key)
    if previous is not None:
        return ImportResult(path, importer.kind, previous, 0, 0, 0, 0, 0, already_imported=True)
    staging = Staging(conn, path, options, reporter)
    try:
        with store.transaction():
            staged = importer.stage(staging)
            batch_id = int(scalar(conn, "SELECT coalesce(max(batch_id), 0) + 1 FROM import_batches"))
            if staged.settle is None:
                # Rejects are known before the merge: a --strict import fails without writing anything.
                rejected, skipped = _reject_counts(conn, staged, path, options)
            loaded, duplicate, per_table = _merge(conn, staged, batch_id)
            if staged.settle is not None:
                settled = staged.settle(loaded + duplicate)
                if settled.restaged is not None:
                    for name in staged.tables:
                        run(conn, f"DELETE FROM {name} WHERE batch_id = ?", [batch_id])
                    staged = settled.restaged
                    loaded, duplicate, per_table = _merge(conn, staged, batch_id)
                else:
                    staged = replace(staged, rejected=settled.rejected, settle=None)
                rejected, skipped = _reject_counts(conn, staged, path, options)
            if loaded + duplicate + skipped == 0 and rejected:
                first = _first_reject(conn, staged.rejected or "", ["invalid"])
                raise InputError(
                    f"{path}: none of its {staged.rows_read} rows could be read as {importer.kind}; "
                    f"first problem at {first}",
                    tip=f"is this really a {importer.kind} file? See `seclo import --help` for the kinds.",
                )
            if staged.rejected is not None:
                run(
                    conn,
                    f"""INSERT INTO rejected SELECT ?, ?, ?, line, field, reason, raw, category, lines
                    FROM {staged.rejected}""",
                    [batch_id, str(path), importer.kind],
                )
            importer.after_merge(staging, batch_id)
            counted = loaded + duplicate + skipped + rejected
            if counted != staged.rows_read:
                raise InputError(
                    f"{path}: read {staged.rows_read} rows but accounted for {counted}; nothing was loaded",
                    tip="this is a bug in seclo's importer: please report it with the file",
                )
            run(
                conn,
                "INSERT INTO import_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    importer.kind,
                    str(path),
                    digest,
                    datetime.now(UTC).replace(tzinfo=None),
                    staged.rows_read,
                    loaded,
                    duplicate,
                    skipped,
                    rejected,
                    staging.notes,
                    options_key,
                ],
            )
    finally:
        staging.drop(staging.temp_tables)
    return ImportResult(
        path=path,
        kind=importer.kind,
        batch_id=batch_id,
        rows_read=staged.rows_read,
        rows_loaded=loaded,
        rows_duplicate=duplicate,
        rows_skipped=skipped,
        rows_rejected=rejected,
        tables=per_table,
        notes=tuple(staging.notes),
    )
