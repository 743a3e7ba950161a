"""Checks shared by the importer tests: counts reconcile, and fuzzed input never crashes an import."""

from __future__ import annotations

from pathlib import Path

from seclo.errors import InputError
from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
from seclo.store import Store


def reconciles(result: ImportResult) -> bool:
    """Rows read equal rows loaded, duplicate, skipped and rejected."""
    parts = result.rows_loaded + result.rows_duplicate + result.rows_skipped + result.rows_rejected
    return parts == result.rows_read


def check_survives(store: Store, kind: str, path: Path, options: ImportOptions | None = None) -> None:
    """Import `path`: either a file-level InputError, or a reconciled result with a reason for every reject."""
    try:
        result = import_path(store, get_importer(kind), path, options)
    except InputError:
        return
    assert reconciles(result)
    unexplained = store.conn.execute(
        "SELECT count(*) FROM rejected WHERE batch_id = ? AND (reason IS NULL OR category IS NULL)",
        [result.batch_id],
    ).fetchall()
    assert unexplained == [(0,)]


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
