"""The importer interface: every source format is one Importer that stages rows for the shared pipeline.

An importer never writes to the canonical tables itself. It reads its file into temporary staging tables inside
the import's transaction; the pipeline (seclo.importers.pipeline) then validates counts, removes duplicates,
merges into the store and records rejected rows, so every format gets the same guarantees.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Literal

import duckdb

from seclo.progress import NullReporter, Reporter
from seclo.store.sql import run

__all__ = [
    "ImportOptions",
    "ImportResult",
    "Importer",
    "RejectCategory",
    "RejectedRow",
    "Settled",
    "Staged",
    "Staging",
]

RejectCategory = Literal["invalid", "skipped"]


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """Choices the user makes for an import.

    Attributes:
        year: the year for log formats whose lines carry none (syslog).
        timezone: the zone of timestamps that carry none.
        strict: any invalid row fails the whole import.
        snapshot_time: the inventory time for snapshot sources that do not state one.
    """

    year: int | None = None
    timezone: str = "UTC"
    strict: bool = False
    snapshot_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that was not loaded, and why.

    Attributes:
        line: 1-based line (or record number) in the source.
        field: the field at fault, when one is.
        reason: a sentence for the user.
        raw: the source text of the row (truncated for very long rows).
        category: "invalid" rows are errors (they fail a --strict import); "skipped" rows are well-formed but
            not something this importer loads (a cron line in an auth log).
    """

    line: int | None
    field: str | None
    reason: str
    raw: str | None
    category: RejectCategory = "invalid"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did. rows_read == rows_loaded + rows_duplicate + rows_skipped + rows_rejected."""

    path: Path
    kind: str
    batch_id: int | None
    rows_read: int
    rows_loaded: int
    rows_duplicate: int
    rows_skipped: int
    rows_rejected: int
    already_imported: bool = False
    tables: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Staged:
    """What an importer staged.

    Attributes:
        rows_read: rows (lines, records, elements) read from the source.
        tables: canonical table name -> staging relation holding valid rows, with exactly that table's columns
            plus `_line`.
        rejected: a staging relation with columns (line, field, reason, raw, category, lines), or None. `lines`
            is how many consecutive lines from `line` on the row stands for (1 but for runs of skipped lines).
        settle: set by a stage that streams its source into the store: its tables are views that the merge
            reads once (so a file is parsed once, straight into the store) and its rejects are not known
            before. Called after the merge with the number of rows merged (loaded plus duplicate), it says
            which rows were rejected, or gives the file read another way. Only for "multiset" tables, whose
            merge adds rows of the batch and changes no others.
    """

    rows_read: int
    tables: Mapping[str, str]
    rejected: str | None = None
    settle: Callable[[int], Settled] | None = None


@dataclass(frozen=True, slots=True)
class Settled:
    """What a streamed stage (`Staged.settle`) found once its rows were merged.

    Attributes:
        rejected: the rejects relation (as `Staged.rejected`) of the rows that were not merged.
        restaged: the file read another way, when the streamed read could not account for every row: the
            pipeline takes this batch's rows back out of the store and merges these instead.
    """

    rejected: str | None
    restaged: Staged | None = None


class Staging:
    """The context an importer stages into: the open transaction, the file and the user's options."""

    _counter: ClassVar[itertools.count[int]] = itertools.count()

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        path: Path,
        options: ImportOptions,
        reporter: Reporter | None = None,
    ) -> None:
        self.conn = conn
        self.path = path
        self.options = options
        self.reporter: Reporter = reporter or NullReporter()
        self.notes: list[str] = []
        self.temp_tables: list[str] = []

    def temp_name(self, prefix: str) -> str:
        """A fresh name for a temporary staging table, dropped by the pipeline when the import ends."""
        name = f"_stage_{prefix}_{next(self._counter)}"
        self.temp_tables.append(name)
        return name

    def drop(self, names: Iterable[str]) -> None:
        """Drop those of the named staging relations that exist (views first: they depend on the tables)."""
        wanted = set(names)
        existing = self.conn.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = 'temp'"
        ).fetchall()
        for name, kind in sorted(existing, key=lambda r: r[1] != "VIEW"):
            if name in wanted:
                run(self.conn, f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {name}")

    def note(self, message: str) -> None:
        """Record something the user should be told about this import (an assumption made)."""
        self.notes.append(message)
        self.reporter.note(message)


class Importer(ABC):
    """One source format.

    Class attributes:
        kind: the name used on the command line (`seclo import KIND`).
        summary: one line for `seclo import --help`.
        targets: the canonical tables it writes.
        binary: the input is not text (Parquet): skip the text checks.
        accepts_directories: a directory is one import unit (a folder of advisories).
    """

    kind: ClassVar[str]
    summary: ClassVar[str]
    targets: ClassVar[tuple[str, ...]]
    binary: ClassVar[bool] = False
    accepts_directories: ClassVar[bool] = False

    def is_binary(self, path: Path) -> bool:
        """The file at `path` is not text (so the binary-file check does not apply)."""
        return self.binary

    @abstractmethod
    def stage(self, staging: Staging) -> Staged:
        """Read `staging.path` into staging relations.

        Raises:
            InputError: the file as a whole cannot be read as this kind (wrong format, XML attack...).
        """

    def after_merge(self, staging: Staging, batch_id: int) -> None:  # noqa: B027
        """Derive other tables once the staged rows are merged (matching advisories to components); optional.

        Runs inside the import's transaction, on `staging.conn`; `staging.note` reaches the user and the batch.
        """
