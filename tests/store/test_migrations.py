"""The store's schema and migrations."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from seclo.errors import StoreError
from seclo.store import SCHEMA_VERSION, TABLES, Store, open_store
from seclo.store.migrations import MIGRATIONS
from seclo.store.schema import RECORD_TABLES


def test_migrated_store_matches_the_documented_schema(store: Store) -> None:
    """Every canonical table exists with exactly the columns and types of seclo.store.schema."""
    for spec in TABLES:
        rows = store.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [spec.name],
        ).fetchall()
        expected = [(c.name, c.sql_type.replace(" ", "")) for c in spec.columns]
        expected += [("row_key", "UBIGINT"), ("batch_id", "INTEGER")]
        assert [(n, t.replace(" ", "")) for n, t in rows] == expected, spec.name


def test_store_records_its_schema_version(store: Store) -> None:
    """A new store is at the latest schema version."""
    assert store.version == SCHEMA_VERSION


def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    """Opening an existing store keeps its data and does not re-run migrations."""
    path = tmp_path / "s.duckdb"
    with open_store(path) as first:
        first.conn.execute("INSERT INTO incidents (incident_id, kind) VALUES ('i1', 'security')").fetchall()
    with open_store(path) as second:
        assert second.conn.execute("SELECT count(*) FROM incidents").fetchall() == [(1,)]
        assert second.conn.execute("SELECT count(*) FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    """A store written by a newer seclo is not opened (and not damaged) by an older one."""
    path = tmp_path / "s.duckdb"
    with open_store(path) as store:
        store.conn.execute("INSERT INTO schema_version VALUES (999, now())").fetchall()
    with pytest.raises(StoreError, match="newer"):
        open_store(path)


def test_a_file_that_is_not_a_store_gives_a_clear_error(tmp_path: Path) -> None:
    """Pointing seclo at a file that is not DuckDB names the file instead of crashing."""
    path = tmp_path / "s.duckdb"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(StoreError, match=str(path)):
        open_store(path)


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    """A store opened read-only cannot be changed."""
    path = tmp_path / "s.duckdb"
    open_store(path).close()
    with open_store(path, read_only=True) as store, pytest.raises(duckdb.Error):
        store.conn.execute("DELETE FROM auth_events").fetchall()


def test_a_version_1_store_keeps_its_rejected_rows_as_single_lines(tmp_path: Path) -> None:
    """Upgrading a store written before runs of skipped lines existed counts each old rejected row as one line."""
    path = tmp_path / "s.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(MIGRATIONS[0][1]).fetchall()
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
        ).fetchall()
        conn.execute("INSERT INTO schema_version VALUES (1, now())").fetchall()
        conn.execute(
            "INSERT INTO rejected VALUES (1, 'auth.log', 'syslog', 7, NULL, 'not an authentication event', NULL, "
            "'skipped')"
        ).fetchall()
    with open_store(path) as store:
        assert store.version == SCHEMA_VERSION
        assert store.conn.execute("SELECT line, lines FROM rejected").fetchall() == [(7, 1)]


def test_playbook_record_tables_match_the_documented_schema(store: Store) -> None:
    """The playbook tables exist with exactly the documented columns and no import bookkeeping columns."""
    for spec in RECORD_TABLES:
        rows = store.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [spec.name],
        ).fetchall()
        assert rows == [(c.name, c.sql_type) for c in spec.columns], spec.name


def test_a_version_5_store_keeps_its_experiment_runs_without_a_name(tmp_path: Path) -> None:
    """Upgrading to V6 rebuilds experiment_runs with the name column in its documented place; rows kept."""
    path = tmp_path / "s.duckdb"
    with duckdb.connect(str(path)) as conn:
        for _, sql in MIGRATIONS[:5]:
            conn.execute(sql).fetchall()
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
        ).fetchall()
        conn.execute("INSERT INTO schema_version SELECT range, now() FROM range(1, 6)").fetchall()
        conn.execute(
            "INSERT INTO experiment_runs (run_id, experiment, outcome, journal) VALUES ('r1', 'T', 'passed', 'j')"
        ).fetchall()
    with open_store(path) as store:
        assert store.version == SCHEMA_VERSION
        rows = store.conn.execute(
            "SELECT run_id, experiment, name, outcome, journal FROM experiment_runs"
        ).fetchall()
        assert rows == [("r1", "T", None, "passed", "j")]
