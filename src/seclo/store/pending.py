"""Rows waiting for the store: written next to it when another process holds the store, loaded by the next writer.

DuckDB lets one process write a database file at a time. A command that must record something while another
seclo process holds the store (a playbook running `seclo experiment run` as a step, an experiment run while
`seclo playbook listen` is up) writes the row to `pending/<table>.<key>.json` beside the store instead. Every
writer loads the pending rows when it opens the store (`open_store`), in one transaction, then deletes their
files, so nothing is lost and nothing is loaded twice: a row whose key is already in the table is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from seclo.atomic import write_text_atomic
from seclo.store.sql import run, scalar

__all__ = ["PENDING_KEYS", "load_pending", "pending_folder", "write_pending"]

# The tables that may receive pending rows, with the column that identifies a row.
PENDING_KEYS = {"experiment_runs": "run_id"}


def pending_folder(store_path: Path) -> Path:
    """Where the pending rows of the store at `store_path` wait."""
    return store_path.parent / "pending"


def write_pending(store_path: Path, table: str, row: Mapping[str, Any]) -> Path:
    """Keep `row` for `table` until the next writer opens the store; returns the file written."""
    key = str(row[PENDING_KEYS[table]])
    path = pending_folder(store_path) / f"{table}.{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(dict(row), default=str, sort_keys=True) + "\n")
    return path


def load_pending(conn: duckdb.DuckDBPyConnection, store_path: Path) -> int:
    """Insert every pending row into its table (skipping keys already there), then delete the files.

    Returns:
        how many rows were inserted.
    """
    folder = pending_folder(store_path)
    if not folder.is_dir():
        return 0
    files = sorted(p for p in folder.glob("*.json") if p.name.split(".", 1)[0] in PENDING_KEYS)
    if not files:
        return 0
    inserted = 0
    run(conn, "BEGIN TRANSACTION")
    try:
        for path in files:
            table = path.name.split(".", 1)[0]
            row = json.loads(path.read_text(encoding="utf-8"))
            key = PENDING_KEYS[table]
            if scalar(conn, f"SELECT count(*) FROM {table} WHERE {key} = ?", [row[key]]):
                continue
            columns = list(row)
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            run(conn, f"INSERT INTO {table} ({names}) VALUES ({marks})", [row[c] for c in columns])
            inserted += 1
        run(conn, "COMMIT")
    except BaseException:
        run(conn, "ROLLBACK")
        raise
    for path in files:
        path.unlink(missing_ok=True)
    return inserted
