"""Reading a text file as numbered lines without a Python loop over lines.

The file is read in large chunks; numpy finds the newlines and the chunk becomes an Arrow binary column whose
offsets are those positions (no copy). DuckDB then decodes, trims and parses the lines set-based.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seclo.importers.interface import Staging
from seclo.store.sql import run, scalar

__all__ = ["CHUNK_BYTES", "MAX_RAW_CHARS", "stage_lines"]

CHUNK_BYTES = 1 << 26
MAX_RAW_CHARS = 4096
_NEWLINE = 10
_CARRIAGE_RETURN = 13


def _chunk_table(data: bytes, first_line: int, final: bool) -> tuple[pa.Table | None, bytes, int]:
    """Split `data` into whole lines; return them as a table, the unfinished tail and the next line number.

    The Arrow offsets are the newline positions, so the lines share `data`'s memory; Arrow's byte slicing then
    drops the line endings (LF or CRLF).
    """
    if final and data and not data.endswith(b"\n"):
        data += b"\n"
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.nonzero(buf == _NEWLINE)[0]
    if newlines.size == 0:
        return None, data, first_line
    cut = int(newlines[-1]) + 1
    offsets = np.concatenate(([0], newlines + 1)).astype(np.int64)
    with_endings = pa.Array.from_buffers(
        pa.large_binary(), newlines.size, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    has_cr = np.zeros(newlines.size, dtype=bool)
    inner = newlines > 0
    has_cr[inner] = buf[newlines[inner] - 1] == _CARRIAGE_RETURN
    lines = pc.binary_slice(with_endings, 0, -1)
    if has_cr.any():
        lines = pc.if_else(pa.array(has_cr), pc.binary_slice(with_endings, 0, -2), lines)
    numbers = pa.array(np.arange(first_line, first_line + newlines.size, dtype=np.int64))
    lengths = np.diff(offsets) - 1 - has_cr
    if (lengths == 0).any():
        nonblank = pa.array(lengths > 0)
        lines, numbers = lines.filter(nonblank), numbers.filter(nonblank)
    table = pa.table({"_line": numbers, "_bytes": lines})
    return table, data[cut:], first_line + newlines.size


def stage_lines(staging: Staging, path: Path | None = None) -> tuple[str, int]:
    """Load a text file into a staging table of (_line BIGINT, _text VARCHAR, _utf8 BOOLEAN).

    Empty lines are left out (they carry nothing and are not counted). `_text` holds the line without its line
    ending; where the bytes are not UTF-8, `_utf8` is false and `_text` shows them escaped.

    Returns:
        The staging table's name and the number of non-blank lines.
    """
    source = path or staging.path
    name = staging.temp_name("lines")
    conn = staging.conn
    run(conn, f"CREATE TEMP TABLE {name} (_line BIGINT, _text VARCHAR, _utf8 BOOLEAN)")
    size = source.stat().st_size
    staging.reporter.start(f"reading {source.name}", total=size)
    tail = b""
    line = 1
    with source.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            final = not chunk
            table, tail, line = _chunk_table(tail + chunk, line, final)
            if table is not None:
                conn.register("_seclo_chunk", table)
                run(
                    conn,
                    f"""
                    INSERT INTO {name}
                    SELECT _line, coalesce(txt, CAST(b AS VARCHAR)), txt IS NOT NULL
                    FROM (SELECT _line, CAST(_bytes AS BLOB) AS b, try(decode(b)) AS txt FROM _seclo_chunk)
                    """,
                )
                conn.unregister("_seclo_chunk")
            staging.reporter.advance(len(chunk))
            if final:
                break
    staging.reporter.finish()
    return name, int(scalar(conn, f"SELECT count(*) FROM {name}"))
