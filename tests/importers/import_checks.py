"""Checks shared by the importer tests: counts reconcile, and fuzzed input never crashes an import."""

from __future__ import annotations

import tempfile
from pathlib import Path

from seclo.errors import InputError
from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
from seclo.store import Store, open_store


def reconciles(result: ImportResult) -> bool:
    """Rows read equal rows loaded, duplicate, skipped and rejected."""
    parts = result.rows_loaded + result.rows_duplicate + result.rows_skipped + result.rows_rejected
    return parts == result.rows_read


def check_survives(store: Store, kind: str, path: Path, options: ImportOptions | None = None) -> None:
    """Import `path`: either an InputError naming the file (and not the pipeline's own reconciliation
    failure, which is a bug), or a reconciled result with a reason for every reject."""
    try:
        result = import_path(store, get_importer(kind), path, options)
    except InputError as exc:
        refused = str(exc)
        assert "accounted for" not in refused
        assert refused.startswith(str(path))
        return
    assert reconciles(result)
    unexplained = store.conn.execute(
        "SELECT count(*) FROM rejected WHERE batch_id = ? AND (reason IS NULL OR category IS NULL)",
        [result.batch_id],
    ).fetchall()
    assert unexplained == [(0,)]


def check_bytes_survive(kind: str, data: bytes, name: str, options: ImportOptions | None = None) -> None:
    """`check_survives` for `data` written to a fresh file called `name`, imported into a fresh store."""
    with tempfile.TemporaryDirectory() as folder, open_store(None) as store:
        path = Path(folder) / name
        path.write_bytes(data)
        check_survives(store, kind, path, options)


def edit_text(base: str, edits: list[tuple[str, int, str]]) -> str:
    """Apply character edits ("insert", "replace" or "delete" at a position) to `base`."""
    text = base
    for op, position, char in edits:
        at = position % (len(text) + 1)
        if op == "insert":
            text = text[:at] + char + text[at:]
        elif op == "replace":
            text = text[:at] + char + text[at + 1 :]
        else:
            text = text[:at] + text[at + 1 :]
    return text
