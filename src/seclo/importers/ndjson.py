"""Canonical NDJSON: one JSON object per line, read whole by DuckDB when it can be, line by line otherwise.

The whole-file path hands the file to DuckDB's parallel `read_json`, which numbers no lines. Its rows are the
file's lines, in order, only when every line held exactly one object: the reader skips blank lines and, with
`ignore_errors`, gives a line it cannot read a row of NULLs (an error would abort the import's transaction, so
nothing could be tried after it). So the path is taken only when every line starts with "{" and ends with "}"
(numpy checks this as it counts the lines), and kept only when the rows are as many as the lines and no row is
all NULL; otherwise (a blank line, a broken line, `null` or `{}`) the file takes the line-by-line path, which
reads each line as text and gives each bad one its own reason. Both paths load and reject the same rows.

The whole-file path streams: the typed rows are a view over `read_json` that the merge reads once, in parallel,
straight into the store, with no staging table. Numbering rows (`row_number() OVER ()`) would make that read
single-threaded, so rows are numbered only by the second read that finds the rejects, which runs only when
fewer rows were merged than the file has lines. When that read shows the rows are not the file's lines, the
pipeline takes the merged rows back out and the file is read line by line.
"""

from __future__ import annotations

import json
import mmap
from pathlib import Path

import numpy as np
import pyarrow as pa

from seclo.importers.interface import Settled, Staged, Staging
from seclo.importers.lines import MAX_LINE_BYTES, MAX_RAW_CHARS, stage_lines
from seclo.importers.typed import check_typed, create_rejects, insert_rejects, stage_typed, valid_rows
from seclo.store.schema import TableSpec
from seclo.store.sql import quote_ident, run, scalar, sql_literal

__all__ = ["count_lines", "stage_ndjson"]

_NEWLINE, _CARRIAGE_RETURN, _OPEN, _CLOSE = 10, 13, ord("{"), ord("}")
_COUNT_BLOCK = 1 << 24
_UNREAD = "unread"  # rejects category of a whole-file row that was not one object on its own line


def count_lines(path: Path) -> int:
    """The number of lines in the file, blank ones included; a last line without a newline counts."""
    return _line_shape(path)[0]


def _line_shape(path: Path) -> tuple[int, bool]:
    """The number of lines (as `count_lines`), and whether each starts with "{" and ends with "}" (or "}\r")
    and is at most MAX_LINE_BYTES long (longer ones are rejected by the line-by-line path)."""
    size = path.stat().st_size
    if size == 0:
        return 0, False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        data = np.frombuffer(mapped, dtype=np.uint8)
        try:
            lines, braced, previous = 0, bool(data[0] == _OPEN), -1
            for start in range(0, size, _COUNT_BLOCK):
                ends = np.flatnonzero(data[start : start + _COUNT_BLOCK] == _NEWLINE) + start
                lines += ends.size
                if ends.size:
                    longest = int(np.diff(ends, prepend=previous).max()) - 1
                    braced = braced and longest <= MAX_LINE_BYTES
                    previous = int(ends[-1])
                elif start + _COUNT_BLOCK - previous > MAX_LINE_BYTES:
                    braced = False
                if braced and ends.size:
                    before = data[np.maximum(ends - 1, 0)]
                    crlf = (before == _CARRIAGE_RETURN) & (ends >= 2)
                    before[crlf] = data[ends[crlf] - 2]
                    starts = ends[ends + 1 < size] + 1
                    braced = bool((before == _CLOSE).all() and (data[starts] == _OPEN).all())
            unterminated = data[-1] != _NEWLINE
            braced = braced and size - 1 - previous <= MAX_LINE_BYTES + 1
            if unterminated:
                last = data[-2] if size >= 2 and data[-1] == _CARRIAGE_RETURN else data[-1]
                braced = braced and bool(last == _CLOSE)
        finally:
            del data  # the array must let go of the mapping before it closes
    return lines + int(unterminated), braced


def stage_ndjson(staging: Staging, spec: TableSpec) -> Staged:
    """Stage a canonical NDJSON file of `spec` rows: extra keys are ignored, every field is read as text."""
    return _stage_whole(staging, spec) or _stage_by_line(staging, spec)


def _stage_whole(staging: Staging, spec: TableSpec) -> Staged | None:
    """The whole-file path, or None when the file plainly needs the line-by-line one.

    Into a "multiset" table it streams (the rejects are found after the merge). An "upsert" merge replaces stored
    rows, which could not be taken back if the file then had to be read line by line, so there the typed rows
    are kept in a staging table and checked before the merge.
    """
    conn, path = staging.conn, staging.path
    lines, braced = _line_shape(path)
    if not braced:
        return None
    streamed = spec.merge == "multiset"
    first_staged = len(staging.temp_tables)
    names = spec.column_names
    columns = "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names) + "}"
    source = staging.temp_name("ndjson_whole")
    run(
        conn,
        f"""CREATE TEMP VIEW {source} AS SELECT row_number() OVER () AS _line, *
        FROM read_json({sql_literal(str(path))}, columns = {columns}, format = 'newline_delimited',
            ignore_errors = true, compression = 'none', maximum_object_size = {MAX_LINE_BYTES + 2})""",
    )
    unread = " AND ".join(f"{quote_ident(n)} IS NULL" for n in names)
    checked = check_typed(
        staging,
        spec,
        source,
        {n: quote_ident(n) for n in names},
        raw="NULL",
        pre_reason=f"CASE WHEN {unread} THEN 'not read' END",
        pre_category=sql_literal(_UNREAD),
        materialize=not streamed,
    )
    valid = valid_rows(staging, spec, checked)

    def settle(merged: int) -> Settled:
        rejects = create_rejects(staging)
        if merged == lines:
            return Settled(rejects)  # every line was an object with valid fields
        insert_rejects(staging, checked, rejects)
        rejected, unread_rows = conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE category = '{_UNREAD}') FROM {rejects}"
        ).fetchall()[0]
        if merged + rejected != lines or unread_rows:
            staging.drop(staging.temp_tables[first_staged:])
            return Settled(None, restaged=_stage_by_line(staging, spec))
        _fill_raw(staging, rejects)
        return Settled(rejects)

    if streamed:
        return Staged(lines, {spec.name: valid}, settle=settle)
    settled = settle(int(scalar(conn, f"SELECT count(*) FROM {valid}")))
    return settled.restaged or Staged(lines, {spec.name: valid}, settled.rejected)


def _fill_raw(staging: Staging, rejects: str) -> None:
    """Give the whole-file path's rejects their line's text, reading the file again for those lines only."""
    conn = staging.conn
    wanted = pa.array(conn.execute(f"SELECT line FROM {rejects}").fetchnumpy()["line"], pa.int64())
    texts, _ = stage_lines(staging, only=wanted)
    run(
        conn,
        f"""UPDATE {rejects} SET raw = left(t._text, {MAX_RAW_CHARS})
        FROM {texts} t WHERE {rejects}.line = t._line""",
    )


def _stage_by_line(staging: Staging, spec: TableSpec) -> Staged:
    """The line-by-line path: each line is text first, so a line that is not a JSON object gets its reason."""
    conn = staging.conn
    lines, read = stage_lines(staging)
    names = spec.column_names
    # One JSON parse per line, unpacked into one text column per field (cheaper than a list or a struct).
    shape = sql_literal(json.dumps(dict.fromkeys(names, "VARCHAR")))
    source = staging.temp_name("ndjson")
    run(
        conn,
        f"""CREATE TEMP VIEW {source} AS
        SELECT _line, _text, _utf8, _problem, _ok,
            unnest(CASE WHEN _ok THEN json_transform(_text, {shape}) END)
        FROM (SELECT *, _utf8 AND coalesce(try(json_type(_text)) = 'OBJECT', false) AS _ok FROM {lines})""",
    )
    rejects = create_rejects(staging)
    valid = stage_typed(
        staging,
        spec,
        source,
        {n: quote_ident(n) for n in names},
        raw="_text",
        rejects=rejects,
        pre_field="NULL",
        pre_reason="""CASE WHEN NOT _utf8 THEN _problem
            WHEN NOT _ok THEN 'not a JSON object' END""",
    )
    return Staged(read, {spec.name: valid}, rejects)
