"""What a generation run produced: the Parquet files of each table and their row counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["GeneratedFiles", "GeneratedTable"]


@dataclass(frozen=True, slots=True)
class GeneratedTable:
    """The files holding one canonical table.

    Attributes:
        name: canonical table name (also the import kind).
        paths: Parquet files, in order.
        rows: rows over all the files.
    """

    name: str
    paths: tuple[Path, ...]
    rows: int


@dataclass(frozen=True, slots=True)
class GeneratedFiles:
    """Everything one call of `generate_organisation` wrote.

    Attributes:
        out_dir: folder holding the files.
        start: first instant of the period (naive UTC).
        end: end of the period (naive UTC).
        seed: seed the data was drawn with.
        tables: one entry per canonical table, in the order of the data model.
    """

    out_dir: Path
    start: datetime
    end: datetime
    seed: int
    tables: tuple[GeneratedTable, ...]

    def table(self, name: str) -> GeneratedTable:
        """The entry for table `name`."""
        for entry in self.tables:
            if entry.name == name:
                return entry
        raise KeyError(name)

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written."""
        return tuple(path for entry in self.tables for path in entry.paths)

    @property
    def total_rows(self) -> int:
        """Rows over all tables."""
        return sum(entry.rows for entry in self.tables)
