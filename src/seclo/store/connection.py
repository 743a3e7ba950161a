"""Opening the store: an embedded DuckDB file, created and migrated on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from seclo.errors import StoreError
from seclo.store.migrations import MIGRATIONS
from seclo.store.pending import load_pending
from seclo.store.sql import run, scalar

__all__ = ["SANDBOX_SETTINGS", "SCHEMA_VERSION", "Store", "open_store"]

SCHEMA_VERSION = MIGRATIONS[-1][0]

# A sandboxed store runs users' SQL (seclo query, sql SLIs, store_query probes): it may read the store's tables
# and nothing else. These settings are DuckDB's own (docs: "Securing DuckDB"). They are set when the database
# opens, so a sandboxed store never shares DuckDB's per-process database instance with an ordinary one (a
# different configuration is refused), and `lock_configuration` stops the user's SQL from setting them back.
SANDBOX_SETTINGS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,  # a query must not read a Python variable of seclo's by its name
}


class Store:
    """A connection to the store, configured for UTC and bounded memory."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.conn = conn
        self.path = path

    @property
    def version(self) -> int:
        """The schema version the store is at."""
        return int(scalar(self.conn, "SELECT coalesce(max(version), 0) FROM schema_version"))

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: all of it is committed, or none of it."""
        run(self.conn, "BEGIN TRANSACTION")
        try:
            yield self.conn
        except BaseException:
            run(self.conn, "ROLLBACK")
            raise
        run(self.conn, "COMMIT")

    def close(self) -> None:
        """Close the connection (checkpointing the write-ahead log)."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The store's schema version; 0 for a new store, which gets its schema_version table here."""
    try:
        return int(scalar(conn, "SELECT coalesce(max(version), 0) FROM schema_version"))
    except duckdb.CatalogException:
        run(conn, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
        return 0


def _migrate(conn: duckdb.DuckDBPyConnection) -> None:
    # A store already at this version (every open but the first) costs one query.
    current = _schema_version(conn)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the store is at schema version {current}, newer than this seclo understands ({SCHEMA_VERSION})",
            tip="upgrade seclo",
        )
    for version, sql in MIGRATIONS:
        if version <= current:
            continue
        run(conn, "BEGIN TRANSACTION")
        try:
            run(conn, sql)
            run(
                conn,
                "INSERT INTO schema_version VALUES (?, ?)",
                [version, datetime.now(UTC).replace(tzinfo=None)],
            )
        except BaseException:
            run(conn, "ROLLBACK")
            raise
        run(conn, "COMMIT")


# Harmless per-connection settings open_store makes on every connection, still allowed once locked (a second
# sandbox of the same process shares the locked database instance and makes them again).
_SESSION_SETTINGS = ["TimeZone", "enable_progress_bar", "perfect_ht_threshold"]


def _lock_down(conn: duckdb.DuckDBPyConnection) -> None:
    """Refuse files and the network from now on, and lock every setting (DuckDB allows neither to be undone)."""
    if scalar(conn, "SELECT current_setting('lock_configuration')"):
        return  # another sandbox of this process shares the database instance and has locked it already
    run(conn, "SET allowed_configs = " + "[" + ", ".join(f"'{name}'" for name in _SESSION_SETTINGS) + "]")
    run(conn, "SET enable_external_access = false")
    run(conn, "SET lock_configuration = true")


def open_store(
    path: Path | None,
    *,
    read_only: bool = False,
    memory_limit: str = "1536MB",
    threads: int | None = None,
    sandboxed: bool = False,
) -> Store:
    """Open (creating and migrating if needed) the store at `path`; None opens a throwaway in-memory store.

    A `sandboxed` store is opened read-only for SQL written by a user: file system and network access,
    extension loading and configuration changes are all refused (COPY TO, read_text, ATTACH, INSTALL, SET...).

    Raises:
        StoreError: the file is not a DuckDB database, is locked by another process, or is too new.
    """
    config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit}
    if threads:
        config["threads"] = threads
    if sandboxed:
        read_only = True
        config.update(SANDBOX_SETTINGS)
    target = ":memory:"
    if path is not None:
        if read_only and not path.exists():
            raise StoreError(
                f"{path}: no store here yet", tip="import some data first: seclo import KIND FILE"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path)
        # Spill large sorts and joins next to the store rather than in memory.
        config["temp_directory"] = str(path.parent / "tmp")
    try:
        conn = duckdb.connect(target, read_only=read_only, config=config)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise StoreError(f"{path}: cannot open the store: {first}") from None
    run(conn, "SET TimeZone = 'UTC'")
    # Library code never prints: DuckDB's own progress bar would write to the terminal.
    run(conn, "SET enable_progress_bar = false")
    # SLIs group events by integer slice numbers (seclo.sli.slicing.slice_number). DuckDB aggregates a key whose
    # range fits this many bits into a perfect hash table, several times faster than hashing. The default (12
    # bits) covers only 4,096 slices; 18 bits cover two years of 5-minute slices, at a few MB per thread.
    run(conn, "SET perfect_ht_threshold = 18")
    if sandboxed:
        _lock_down(conn)
    if not read_only:
        _migrate(conn)
        if path is not None:
            load_pending(conn, path)
    return Store(conn, path)
