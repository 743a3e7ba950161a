"""Reading a text file as numbered lines without a Python loop over lines.

The file is read in large chunks; numpy finds the newlines and the chunk becomes an Arrow binary column whose
offsets are those positions (no copy). Arrow checks the chunk is UTF-8 in one call, and DuckDB then parses the
lines set-based.

Two things are not text, and are treated the same wherever they fall in the file:

- NUL padding. A crash often leaves runs of NUL bytes where the last writes should be (the file grew, its data
  did not reach the disk), and logging then resumes after them. A run of NULs at the start or end of a line is
  padding: it is dropped, and a line of NULs alone is blank. A NUL inside a line's text is not padding: the line
  is rejected ("holds a NUL byte"), never loaded with it.
- Lines over `MAX_LINE_BYTES`. Such a line is one rejected row ("line is over N bytes"), read no further; a file
  without any newline cannot make the reader hold more than that.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from io import BufferedReader
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seclo.importers.interface import Staging
from seclo.store.sql import quote_ident, run, sql_literal

__all__ = [
    "CHUNK_BYTES",
    "MAX_LINE_BYTES",
    "MAX_RAW_CHARS",
    "NUL_INSIDE",
    "TOO_LONG",
    "Oversized",
    "binary_offset",
    "json_fields_sql",
    "line_pieces",
    "stage_lines",
    "without_padding",
]

CHUNK_BYTES = 1 << 26
MAX_LINE_BYTES = 1 << 24
MAX_RAW_CHARS = 4096
NUL_INSIDE = "holds a NUL byte inside its text (binary data, not padding)"
TOO_LONG = f"line is over {MAX_LINE_BYTES:,} bytes; it was not read"
_NEWLINE = 10
_CARRIAGE_RETURN = 13
_FINE, _NUL, _LONG = 0, 1, 2  # a line's flag
_STRAY_NULS = 3  # this many NULs inside lines are stray ones in text, however short the file
_KEPT_BYTES = 4 * MAX_RAW_CHARS  # of a line over the limit, enough for the rejects' raw text


class Oversized:
    """A line over MAX_LINE_BYTES, of which only the start is kept (for the rejects' raw text)."""

    __slots__ = ("start",)

    def __init__(self, start: bytes) -> None:
        self.start = start


def without_padding(buf: np.ndarray) -> np.ndarray:
    """`buf` (whole lines, or the start of a file) without its NUL padding: runs of NUL bytes that touch the
    start or the end of a line. NULs inside a line's text are kept (the caller rejects that line)."""
    nul = buf == 0
    if not nul.any():
        return buf
    edges = np.diff(nul.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    size = buf.size
    before = np.where(starts > 0, buf[np.maximum(starts - 1, 0)], _NEWLINE)
    after = np.where(ends < size, buf[np.minimum(ends, size - 1)], _NEWLINE)
    after_next = np.where(ends + 1 < size, buf[np.minimum(ends + 1, size - 1)], _NEWLINE)
    padding = (
        (before == _NEWLINE) | (after == _NEWLINE) | ((after == _CARRIAGE_RETURN) & (after_next == _NEWLINE))
    )
    delta = np.zeros(size + 1, dtype=np.int32)
    np.add.at(delta, starts[padding], 1)
    np.add.at(delta, ends[padding], -1)
    kept: np.ndarray = buf[np.cumsum(delta[:size]) == 0]
    return kept


def binary_offset(head: bytes) -> int | None:
    """Where the start of a file shows it is not text (the offset of its first NUL byte), or None.

    NUL padding (see the module's docstring) is text with a gap, not binary; so is a stray NUL, whose line is
    rejected. The start is binary when it holds NULs and, NULs aside, is not UTF-8 (an image, a compressed
    file), or when NULs inside lines are more than 1% of its bytes and more than a few (UTF-16, a compiled
    program).
    """
    data = np.frombuffer(head, dtype=np.uint8)
    nul = data == 0
    if not nul.any():
        return None
    try:
        # The start may end inside a character: a character cut off at the end is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(data[~nul].tobytes(), final=False)
    except UnicodeDecodeError:
        return head.index(0)
    inside = int((without_padding(data) == 0).sum())
    return head.index(0) if inside > max(_STRAY_NULS, len(head) // 100) else None


def line_pieces(handle: BufferedReader) -> Iterator[bytes | memoryview | Oversized]:
    """Yield the file as buffers of whole lines (each ending in a newline), without copying whole chunks.

    One read buffer is reused, so each piece is valid only until the next is asked for. A line split across
    reads is rebuilt from its parts (less the NUL padding it starts with, which may be long); a last line without
    a newline gets one. A line that grows past MAX_LINE_BYTES across reads is yielded as one `Oversized` (its
    start), and the rest of it is skipped.
    """
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    tail: list[bytes] = []
    held = 0  # bytes in `tail`
    oversized: bytes | None = None  # the start of a line past the limit, whose end is being skipped

    def hold(part: bytes) -> None:
        nonlocal held
        if not held:
            part = part.lstrip(b"\0")  # padding at the start of a line
        if part:
            tail.append(part)
            held += len(part)

    while size := handle.readinto(buffer):
        chunk = view[:size]
        first = buffer.find(b"\n", 0, size) + 1
        if first == 0 or oversized is not None:
            if oversized is None:
                hold(bytes(chunk))
                if held > MAX_LINE_BYTES:
                    oversized, tail, held = b"".join(tail)[:_KEPT_BYTES], [], 0
                continue
            if first == 0:
                continue
            yield Oversized(oversized)
            oversized = None
        elif tail:
            line = b"".join([*tail, bytes(chunk[:first])])
            yield Oversized(line[:_KEPT_BYTES]) if len(line) > MAX_LINE_BYTES + 1 else line
            tail, held = [], 0
        else:
            first = 0
        cut = buffer.rfind(b"\n", 0, size) + 1
        if first < cut:
            yield chunk[first:cut]
        tail, held = [], 0
        if cut < size:
            hold(bytes(chunk[cut:size]))
    if oversized is not None:
        yield Oversized(oversized)
    elif tail:
        line = b"".join(tail)
        yield Oversized(line[:_KEPT_BYTES]) if len(line) > MAX_LINE_BYTES else line + b"\n"


def _lines_table(data: bytes | memoryview, first_line: int) -> tuple[pa.Table, int]:
    """Split `data` (whole lines) into a table of (_line, _bytes, _flag) and return it with the next line number.

    The Arrow offsets are the newline positions, so the lines share `data`'s memory; Arrow's byte slicing then
    drops the line endings (LF or CRLF). Empty lines (NUL padding removed) are left out but keep their numbers.
    `_flag` marks a line holding a NUL inside its text, or over MAX_LINE_BYTES.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    # A line's length is that of its bytes as read (the LF and the padding it starts with left out, trailing
    # padding and a CR included), so it does not depend on where the reads fell.
    ends = np.nonzero(buf == _NEWLINE)[0]
    raw_lengths = np.diff(ends, prepend=-1) - 1
    unpadded = without_padding(buf)
    had_nul = unpadded is not buf
    if had_nul:  # a line's length leaves out the padding it starts with (as a line across reads does)
        text = np.flatnonzero(buf)
        starts = np.concatenate(([0], ends[:-1] + 1))
        at = np.searchsorted(text, starts)
        first_text = np.where(at < text.size, text[np.minimum(at, text.size - 1)], buf.size)
        raw_lengths -= np.minimum(first_text, ends) - starts
    newlines = ends
    if had_nul:
        buf, data = unpadded, unpadded.tobytes()
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
    flags = (raw_lengths > MAX_LINE_BYTES).astype(np.int8) * _LONG
    if had_nul:  # flag the lines that still hold a NUL, inside their text
        nuls = np.flatnonzero(buf == 0)
        flags[np.searchsorted(newlines, nuls)] = _NUL
    if (flags == _LONG).any():
        lines = pc.if_else(pa.array(flags == _LONG), pc.binary_slice(lines, 0, _KEPT_BYTES), lines)
    table = {"_line": numbers, "_bytes": lines, "_flag": pa.array(flags)}
    if (lengths == 0).any():
        nonblank = pa.array(lengths > 0)
        table = {name: column.filter(nonblank) for name, column in table.items()}
    return pa.table(table), first_line + newlines.size


def _oversized_table(line: Oversized, number: int) -> pa.Table:
    """The one-row table of a line over MAX_LINE_BYTES, as `_lines_table` gives it."""
    return pa.table(
        {
            "_line": pa.array([number], pa.int64()),
            "_bytes": pa.array([line.start.replace(b"\0", b"\\x00")], pa.large_binary()),
            "_flag": pa.array([_LONG], pa.int8()),
        }
    )


def _insert_lines(staging: Staging, name: str, table: pa.Table, query: str) -> None:
    conn = staging.conn
    flagged = bool(pc.any(pc.not_equal(table.column("_flag"), _FINE)).as_py())
    try:
        # Arrow checks UTF-8 for the whole chunk at once; only a chunk that fails is decoded line by line.
        text = table.column("_bytes").cast(pa.large_string())
    except pa.ArrowInvalid:
        conn.register("_seclo_chunk", table)
        lines = """(SELECT _line, coalesce(txt, CAST(b AS VARCHAR)) AS _text, txt IS NOT NULL AS _utf8,
                CASE WHEN txt IS NULL THEN 'not valid UTF-8 text' END AS _problem, _flag
            FROM (SELECT _line, CAST(_bytes AS BLOB) AS b, try(decode(b)) AS txt, _flag FROM _seclo_chunk))"""
    else:
        conn.register(
            "_seclo_chunk", pa.table({"_line": table.column("_line"), "_text": text, "_flag": table["_flag"]})
        )
        lines = "(SELECT _line, _text, true AS _utf8, NULL AS _problem, _flag FROM _seclo_chunk)"
    if flagged:
        lines = f"""(SELECT _line,
                CASE _flag WHEN {_NUL} THEN replace(_text, chr(0), '\\x00')
                    WHEN {_LONG} THEN left(_text, {MAX_RAW_CHARS}) ELSE _text END AS _text,
                _utf8 AND _flag = {_FINE} AS _utf8,
                CASE _flag WHEN {_NUL} THEN {sql_literal(NUL_INSIDE)} WHEN {_LONG} THEN {sql_literal(TOO_LONG)}
                    ELSE _problem END AS _problem
            FROM {lines})"""
    else:
        lines = f"(SELECT _line, _text, _utf8, _problem FROM {lines})"
    run(conn, f"INSERT INTO {name} {query.replace('{lines}', lines)}")
    conn.unregister("_seclo_chunk")


def stage_lines(
    staging: Staging,
    path: Path | None = None,
    query: str = "SELECT * FROM {lines}",
    only: pa.Array | None = None,
) -> tuple[str, int]:
    """Load a text file into a staging table of (_line BIGINT, _text VARCHAR, _utf8 BOOLEAN, _problem VARCHAR).

    Empty lines are left out (they carry nothing and are not counted); so is NUL padding. `_text` holds the line
    without its line ending. `_utf8` is false for a line that is not clean text, and `_problem` says why: its
    bytes are not UTF-8 (`_text` shows them escaped), it holds a NUL inside its text (shown as \\x00), or it is
    over MAX_LINE_BYTES (`_text` is its start). With `only` (line numbers), just those lines are kept.

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
    empty = (
        "(SELECT NULL::BIGINT AS _line, NULL::VARCHAR AS _text, NULL::BOOLEAN AS _utf8, NULL::VARCHAR AS _problem "
        "LIMIT 0)"
    )
    # The table is declared from the query's column types: with duckdb 2.0, rows inserted in one transaction into
    # a table made by `CREATE TABLE AS ... LIMIT 0` were lost once a chunk held a few hundred thousand lines.
    columns = conn.execute(f"DESCRIBE {query.replace('{lines}', empty)}").fetchall()
    run(conn, f"CREATE TEMP TABLE {name} ({', '.join(f'{quote_ident(c[0])} {c[1]}' for c in columns)})")
    staging.reporter.start(f"reading {source.name}", total=source.stat().st_size)
    line = 1
    read = 0
    with source.open("rb") as handle:
        for piece in line_pieces(handle):
            if isinstance(piece, Oversized):
                table, line = _oversized_table(piece, line), line + 1
            else:
                table, line = _lines_table(piece, line)
            if only is not None:
                table = table.filter(pc.is_in(table.column("_line"), value_set=only))
            _insert_lines(staging, name, table, query)
            read += table.num_rows
            staging.reporter.advance(len(piece.start) if isinstance(piece, Oversized) else len(piece))
    staging.reporter.finish()
    return name, read


def json_fields_sql(lines: str, paths: Sequence[str]) -> str:
    """A query over a stage_lines table adding `_ok` (the line is a JSON object) and `_v`, the text at each
    JSON path (a list, 1-based in SQL), parsed once per line."""
    listed = "[" + ", ".join(sql_literal(p) for p in paths) + "]"
    return f"""SELECT _line, _text, _utf8, _problem,
        _utf8 AND coalesce(try(json_type(_text)) = 'OBJECT', false) AS _ok,
        CASE WHEN _ok THEN json_extract_string(_text, {listed}) END AS _v
    FROM {lines}"""
