"""Rows kept beside a busy store are loaded by the next writer, once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from seclo.store import open_store
from seclo.store.pending import pending_folder, write_pending


def _row(run_id: str) -> dict[str, object]:
    return {
        "run_id": run_id,
        "experiment": "canary read",
        "fault": "canary_credential",
        "injected_at": datetime(2026, 12, 1, 10, 0, 0, 123000),
        "detected_at": None,
        "outcome": "detection_missed",
    }


def test_the_next_writer_loads_pending_rows_once(tmp_path: Path) -> None:
    """A pending row appears in its table when the store is next opened for writing, with its timestamps
    intact; a row whose key is already there is dropped; the files are gone afterwards."""
    path = tmp_path / "store.duckdb"
    with open_store(path) as store:
        store.conn.execute(
            "INSERT INTO experiment_runs (run_id, experiment, outcome) VALUES ('r1', 'x', 'passed')"
        ).fetchall()
    write_pending(path, "experiment_runs", _row("r1"))
    write_pending(path, "experiment_runs", _row("r2"))
    with open_store(path, read_only=True) as store:
        assert store.conn.execute("SELECT count(*) FROM experiment_runs").fetchall() == [(1,)]
    with open_store(path) as store:
        got = store.conn.execute(
            "SELECT run_id, experiment, outcome, injected_at, detected_at FROM experiment_runs ORDER BY run_id"
        ).fetchall()
    assert got == [
        ("r1", "x", "passed", None, None),
        ("r2", "canary read", "detection_missed", datetime(2026, 12, 1, 10, 0, 0, 123000), None),
    ]
    assert not list(pending_folder(path).glob("*.json"))
    with open_store(path) as store:
        assert store.conn.execute("SELECT count(*) FROM experiment_runs").fetchall() == [(2,)]
