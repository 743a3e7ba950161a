"""Arrow schemas derived from the canonical data model, and deterministic, atomic Parquet writing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from seclo.store.schema import table as table_spec

__all__ = [
    "arrow_schema",
    "arrow_type",
    "atomic_parquet_writer",
    "canonical_table",
    "strings",
    "timestamps",
    "write_parquet",
]

_SCALARS: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
}

# The Arrow schema is not embedded: readers then see the plain Parquet types (string, naive timestamp[us]),
# even for columns written from dictionary arrays.
_WRITE_OPTIONS: dict[str, Any] = {"compression": "snappy", "store_schema": False}


def _split_fields(inner: str) -> list[str]:
    """Split "a T, b STRUCT(c U, d V)" at its top-level commas."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in inner:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    parts.append(current.strip())
    return parts


def arrow_type(sql_type: str) -> pa.DataType:
    """The Arrow type a DuckDB column type of the data model is written as."""
    sql = sql_type.strip()
    if sql.endswith("[]"):
        return pa.list_(arrow_type(sql[:-2]))
    if sql.upper().startswith("STRUCT(") and sql.endswith(")"):
        fields = [part.split(None, 1) for part in _split_fields(sql[len("STRUCT(") : -1])]
        return pa.struct([pa.field(name, arrow_type(kind)) for name, kind in fields])
    return _SCALARS[sql.upper()]


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of canonical table `name`: every column, in order."""
    return pa.schema([pa.field(c.name, arrow_type(c.sql_type)) for c in table_spec(name).columns])


def canonical_table(name: str, **columns: pa.Array) -> pa.Table:
    """Assemble table `name` from one array per column, cast to the canonical types and ordered."""
    schema = arrow_schema(name)
    if set(columns) != set(schema.names):
        raise ValueError(f"{name}: got columns {sorted(columns)}, expected {schema.names}")
    arrays = [columns[field.name].cast(field.type) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def timestamps(values_us: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """Naive UTC timestamp[us] values from microseconds since the epoch; `mask` marks nulls."""
    return pa.array(values_us, type=pa.timestamp("us"), mask=mask)


def strings(
    pool: Sequence[str], index: npt.NDArray[np.integer[Any]], mask: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """The strings `pool[index]`, null where `mask` is set."""
    return pa.array(pool, type=pa.string()).take(pa.array(index, mask=mask))


@contextmanager
def atomic_parquet_writer(path: Path, schema: pa.Schema, **options: Any) -> Iterator[pq.ParquetWriter]:
    """A Parquet writer on a temporary file that replaces `path` only when the block completes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with pq.ParquetWriter(tmp, schema, **{**_WRITE_OPTIONS, **options}) as writer:
            yield writer
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(path: Path, data: pa.Table) -> int:
    """Write `data` to `path` atomically and return its row count."""
    with atomic_parquet_writer(path, data.schema) as writer:
        writer.write_table(data)
    return int(data.num_rows)
