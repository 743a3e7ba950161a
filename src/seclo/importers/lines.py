"""Reading a text file as numbered lines without a Python loop over lines.

The file is read in large chunks; numpy finds the newlines and the chunk becomes an Arrow binary column whose
offsets are those positions (no copy). Arrow checks the chunk is UTF-8 in one call, and DuckDB then parses the
lines set-based.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from io import BufferedReader
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seclo.importers.interface import Staging
from seclo.store.sql import quote_ident, run, sql_literal

__all__ = ["CHUNK_BYTES", "MAX_RAW_CHARS", "json_fields_sql", "stage_lines"]

CHUNK_BYTES = 1 << 26
MAX_RAW_CHARS = 4096
_NEWLINE = 10
_CARRIAGE_RETURN = 13


def _pieces(handle: BufferedReader) -> Iterator[bytes | memoryview]:
    """Yield the file as buffers of whole lines (each ending in a newline), without copying whole chunks.

    One read buffer is reused, so each piece is valid only until the next is asked for. A line split across
    two reads is rebuilt from its two parts; a last line without a newline gets one.
    """
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    tail = b""
    while size := handle.readinto(buffer):
        chunk = view[:size]
        cut = buffer.rfind(b"\n", 0, size) + 1
        if cut == 0:
            tail += bytes(chunk)
            continue
        if tail:
            first = buffer.find(b"\n", 0, size) + 1
            yield tail + bytes(chunk[:first])
            if first < cut:
                yield chunk[first:cut]
        else:
            yield chunk[:cut]
        tail = bytes(chunk[cut:size])
    if tail:
        yield tail + b"\n"


def _lines_table(data: bytes | memoryview, first_line: int) -> tuple[pa.Table, int]:
    """Split `data` (whole lines) into a table of (_line, _bytes) and return it with the next line number.

    The Arrow offsets are the newline positions, so the lines share `data`'s memory; Arrow's byte slicing then
    drops the line endings (LF or CRLF). Empty lines are left out but keep their numbers.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.nonzero(buf == _NEWLINE)[0]
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
    return pa.table({"_line": numbers, "_bytes": lines}), first_line + newlines.size


def _insert_lines(staging: Staging, name: str, table: pa.Table, query: str) -> None:
    conn = staging.conn
    try:
        # Arrow checks UTF-8 for the whole chunk at once; only a chunk that fails is decoded line by line.
        text = table.column("_bytes").cast(pa.large_string())
    except pa.ArrowInvalid:
        conn.register("_seclo_chunk", table)
        lines = """(SELECT _line, coalesce(txt, CAST(b AS VARCHAR)) AS _text, txt IS NOT NULL AS _utf8
            FROM (SELECT _line, CAST(_bytes AS BLOB) AS b, try(decode(b)) AS txt FROM _seclo_chunk))"""
    else:
        conn.register("_seclo_chunk", pa.table({"_line": table.column("_line"), "_text": text}))
        lines = "(SELECT _line, _text, true AS _utf8 FROM _seclo_chunk)"
    run(conn, f"INSERT INTO {name} {query.replace('{lines}', lines)}")
    conn.unregister("_seclo_chunk")


def stage_lines(
    staging: Staging,
    path: Path | None = None,
    query: str = "SELECT * FROM {lines}",
    only: pa.Array | None = None,
) -> tuple[str, int]:
    """Load a text file into a staging table of (_line BIGINT, _text VARCHAR, _utf8 BOOLEAN).

    Empty lines are left out (they carry nothing and are not counted). `_text` holds the line without its line
    ending; where the bytes are not UTF-8, `_utf8` is false and `_text` shows them escaped. With `only` (line
    numbers), just those lines are kept.

    Args:
        staging: the import context.
        path: the file, when it is not the one being imported.
        query: SQL over `{lines}`, a relation of those three columns, giving the rows to stage instead (such
            as the lines' parsed headers): each chunk of the file goes through it as it is read, so the text
            is not copied into a table first.
        only: line numbers to keep; the others are skipped (and not counted).

    Returns:
        The staging table's name and the number of non-blank lines.
    """
    source = path or staging.path
    name = staging.temp_name("lines")
    conn = staging.conn
    empty = "(SELECT NULL::BIGINT AS _line, NULL::VARCHAR AS _text, NULL::BOOLEAN AS _utf8 LIMIT 0)"
    # The table is declared from the query's column types: with duckdb 2.0, rows inserted in one transaction into
    # a table made by `CREATE TABLE AS ... LIMIT 0` were lost once a chunk held a few hundred thousand lines.
    columns = conn.execute(f"DESCRIBE {query.replace('{lines}', empty)}").fetchall()
    run(conn, f"CREATE TEMP TABLE {name} ({', '.join(f'{quote_ident(c[0])} {c[1]}' for c in columns)})")
    staging.reporter.start(f"reading {source.name}", total=source.stat().st_size)
    line = 1
    read = 0
    with source.open("rb") as handle:
        for piece in _pieces(handle):
            table, line = _lines_table(piece, line)
            if only is not None:
                table = table.filter(pc.is_in(table.column("_line"), value_set=only))
            _insert_lines(staging, name, table, query)
            read += table.num_rows
            staging.reporter.advance(len(piece))
    staging.reporter.finish()
    return name, read


def json_fields_sql(lines: str, paths: Sequence[str]) -> str:
    """A query over a stage_lines table adding `_ok` (the line is a JSON object) and `_v`, the text at each
    JSON path (a list, 1-based in SQL), parsed once per line."""
    listed = "[" + ", ".join(sql_literal(p) for p in paths) + "]"
    return f"""SELECT _line, _text, _utf8, coalesce(try(json_type(_text)) = 'OBJECT', false) AS _ok,
        CASE WHEN _ok THEN json_extract_string(_text, {listed}) END AS _v
    FROM {lines}"""
