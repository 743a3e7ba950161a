"""Splitting a CSV (or TSV) file into records and fields with numpy, so that every record is accounted for.

DuckDB's CSV reader numbers only the rows it keeps, drops a row longer than its buffer without a trace and turns
a short row into one error per missing column; here every record of the file ends as one row, at the line it
starts on, with its fields or the reason it has none.

The file is read as whole lines (`lines.line_pieces`). In each piece numpy finds the quotes, newlines and
delimiters. RFC 4180 quoting makes a newline or a delimiter part of a value exactly when an odd number of quotes
comes before it (a doubled quote inside a quoted value counts twice), so the records and their fields are
found without a loop: a record ends at a newline after an even number of quotes, a field at such a delimiter.
A quote that can neither open nor close a value (the `"` in `ab"c`) is text, as DuckDB reads it, and does not
count. A piece holding a quote that counts but stands where no value can open or close (`a,x",c`) would throw
the parity off for the lines after it, so that piece alone is read record by record by Python's csv module,
which reads such quotes as text. A quote opened and never closed makes the rest of the file one rejected
record; so are a record with the wrong number of fields, one with a NUL inside its text and one over
`MAX_LINE_BYTES`. NUL padding is dropped as for every text file (see `lines`).

The fields are Arrow strings over the piece's own bytes, each record a list of them (no copy); DuckDB takes the
well-formed records' fields from the lists and removes the quoting, set-based.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seclo.importers import lines
from seclo.importers.interface import Staging
from seclo.importers.lines import MAX_RAW_CHARS, NUL_INSIDE, TOO_LONG, Oversized, line_pieces, without_padding
from seclo.store.sql import quote_ident, run, sql_literal

__all__ = ["stage_delimited"]

_NEWLINE, _CARRIAGE_RETURN, _QUOTE = 10, 13, ord('"')
BAD_QUOTE = "not CSV: a line break (CR) inside a value that is not quoted"
UNCLOSED = "a quoted value is never closed (it runs to the end of the file)"


_FIELDS, _QUOTING, _NUL, _LONG, _UNCLOSED, _NOT_UTF8 = (
    1,
    2,
    3,
    4,
    5,
    6,
)  # why a record is rejected before typing
_REASONS = {
    _QUOTING: BAD_QUOTE,
    _NUL: NUL_INSIDE,
    _LONG: TOO_LONG,
    _UNCLOSED: UNCLOSED,
    _NOT_UTF8: "not valid UTF-8 text",
}


@dataclass(frozen=True, slots=True)
class _Bad:
    """Records rejected before typing: their first lines, why (a code, and the fields found) and their text."""

    lines: np.ndarray
    codes: np.ndarray
    fields: np.ndarray
    raws: pa.Array

    @staticmethod
    def one(line: int, code: int, raw: bytes) -> _Bad:
        return _Bad(
            np.array([line], np.int64),
            np.array([code], np.int8),
            np.zeros(1, np.int64),
            pa.array([raw[: 4 * MAX_RAW_CHARS]], pa.large_binary()),
        )

    def __add__(self, other: _Bad) -> _Bad:
        return _Bad(
            np.concatenate((self.lines, other.lines)),
            np.concatenate((self.codes, other.codes)),
            np.concatenate((self.fields, other.fields)),
            pa.concat_arrays([self.raws, other.raws]),
        )

    def __getitem__(self, index: slice) -> _Bad:
        return _Bad(self.lines[index], self.codes[index], self.fields[index], self.raws[index])


_NONE = _Bad(
    np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64), pa.array([], pa.large_binary())
)


class _Collected:
    """Records read by the csv module: the good ones' values (quoted again for `_unquote`) and the rejected."""

    def __init__(self, width: int) -> None:
        self.good_lines: list[int] = []
        self.columns: list[list[str]] = [[] for _ in range(width)]
        self.bad: list[tuple[int, int, int, bytes]] = []  # line, code, fields, raw
        self.last_bad = False

    def add(self, line: int, record: list[str], code: int, delimiter: str) -> None:
        self.last_bad = bool(code)
        if code:
            raw = delimiter.join(record).encode("utf-8", "surrogateescape")[: 4 * MAX_RAW_CHARS]
            self.bad.append((line, code, len(record), raw))
            return
        self.good_lines.append(line)
        for column, value in zip(self.columns, record, strict=True):
            column.append('"' + value.replace('"', '""') + '"' if value else "")

    def drop_last(self) -> int | None:
        """Leave out the last record; its first line, or None when there is none."""
        if self.last_bad and self.bad:
            return self.bad.pop()[0]
        if not self.last_bad and self.good_lines:
            for column in self.columns:
                del column[-1]
            return self.good_lines.pop()
        return None

    def result(self) -> tuple[pa.Table | None, _Bad]:
        bad = _Bad(
            np.array([b[0] for b in self.bad], np.int64),
            np.array([b[1] for b in self.bad], np.int8),
            np.array([b[2] for b in self.bad], np.int64),
            pa.array([b[3] for b in self.bad], pa.large_binary()),
        )
        if not self.good_lines:
            return None, bad
        table = {"_line": pa.array(self.good_lines, pa.int64())}
        table |= {f"c{j}": pa.array(column, pa.large_string()) for j, column in enumerate(self.columns)}
        return pa.table(table), bad


def _record_problem(record: list[str], joined: str, width: int) -> int:
    """Why a record read by the csv module is rejected before typing (a code), or 0."""
    if len(joined) > lines.MAX_LINE_BYTES:
        return _LONG
    if "\0" in joined:
        return _NUL
    if len(record) != width:
        return _FIELDS
    if not joined.isascii() and any("\udc80" <= c <= "\udcff" for c in joined):
        return _NOT_UTF8  # bytes that are not UTF-8 were decoded as lone surrogates
    return 0


def _counted_quotes(buf: np.ndarray, delimiter: int) -> np.ndarray:
    """Positions of the quotes that open or close values (or are doubled inside one); lone quotes inside an
    unquoted value are text."""
    quotes = np.flatnonzero(buf == _QUOTE)
    if not quotes.size:
        return quotes
    size = buf.size
    before = np.where(quotes > 0, buf[np.maximum(quotes - 1, 0)], _NEWLINE)
    after = np.where(quotes + 1 < size, buf[np.minimum(quotes + 1, size - 1)], _NEWLINE)
    edge = (_NEWLINE, _CARRIAGE_RETURN, delimiter, _QUOTE)
    return quotes[np.isin(before, edge) | np.isin(after, edge)]


def _misplaced(buf: np.ndarray, quotes: np.ndarray, delimiter: int) -> np.ndarray:
    """The quotes (of `_counted_quotes`) that are not where an opening, closing or doubled quote can be."""
    size = buf.size
    before = np.where(quotes > 0, buf[np.maximum(quotes - 1, 0)], _NEWLINE)
    after = np.where(quotes + 1 < size, buf[np.minimum(quotes + 1, size - 1)], _NEWLINE)
    opening = np.arange(quotes.size) % 2 == 0
    # A doubled quote inside a value: an odd (closing-looking) quote right before an even one.
    pair_left = np.zeros(quotes.size, dtype=bool)
    pair_left[:-1] = (quotes[1:] - quotes[:-1] == 1) & ~opening[:-1]
    pair_right = np.zeros(quotes.size, dtype=bool)
    pair_right[1:] = pair_left[:-1]
    opens_ok = np.isin(before, (_NEWLINE, delimiter)) | pair_right
    closes_ok = np.isin(after, (_NEWLINE, _CARRIAGE_RETURN, delimiter)) | pair_left
    return quotes[np.where(opening, ~opens_ok, ~closes_ok)]


class _Splitter:
    """Turns pieces of whole lines into records, carrying a record whose quoted value spans pieces."""

    def __init__(self, delimiter: int, width: int) -> None:
        self.delimiter, self.width = delimiter, width
        self.line = 1  # the line the next piece starts on
        self.carry = b""  # the start of a record left open at the end of the last piece
        self.carry_line = 0
        self.carry_newlines = 0  # the newlines in `carry` (counted in `line` already)
        self.header_pending = True  # the first record, the header, is still to come

    def oversized(self, piece: Oversized) -> tuple[pa.Table | None, _Bad]:
        """A line over the limit: it and any record left open before it are one rejected record."""
        start = self.carry_line if self.carry else self.line
        raw = self.carry[: 4 * MAX_RAW_CHARS] + piece.start
        self.carry, self.line = b"", self.line + 1
        if self.header_pending:
            self.header_pending = False
            return None, _NONE
        return None, _Bad.one(start, _LONG, raw)

    def split(self, piece: bytes | memoryview, *, final: bool = False) -> tuple[pa.Table | None, _Bad]:
        """The well-formed records of `piece` (after the carried one) as a table of `_line` and one text column
        per field, and the rejected ones."""
        first_line = self.carry_line if self.carry else self.line
        data = self.carry + bytes(piece) if self.carry else piece
        read = np.frombuffer(data, dtype=np.uint8)
        buf = without_padding(read)
        nuls = buf is not read  # the piece held NULs (the padding among them is gone)
        if nuls:
            data = buf.tobytes()
        newlines = np.flatnonzero(buf == _NEWLINE)
        quotes = _counted_quotes(buf, self.delimiter)
        if _misplaced(buf, quotes, self.delimiter).size:
            # A quote where no value can open or close: its parity would run on past the line. Python's csv
            # module reads such a quote as text, record by record (only for a piece like this).
            self.line += newlines.size - (self.carry_newlines if self.carry else 0)
            self.carry = b""
            good, bad, last = self._sequential(data, first_line, final=final)
            if last is not None:  # the last record may go on in the next piece: it is read again with it
                at = 0 if last == 0 else int(newlines[last - 1]) + 1
                if buf.size - at > lines.MAX_LINE_BYTES:
                    return good, bad + _Bad.one(first_line + last, _LONG, bytes(data[at:]))
                self.carry, self.carry_line = bytes(data[at:]), first_line + last
                self.carry_newlines = int(newlines.size - last)
            return good, bad
        outside = np.searchsorted(quotes, newlines) % 2 == 0
        ends = newlines[outside]  # the newline ending each record
        consumed = int(ends[-1]) + 1 if ends.size else 0
        self.line += newlines.size - (self.carry_newlines if self.carry else 0)
        if consumed < buf.size:
            rest = bytes(data[consumed:])
            if final or len(rest) > lines.MAX_LINE_BYTES:
                self.carry = b""
                tail_line = first_line + int(np.searchsorted(newlines, consumed))
                bad_tail = _Bad.one(tail_line, _UNCLOSED if final else _LONG, rest)
            else:
                self.carry, self.carry_line = rest, first_line + int(np.searchsorted(newlines, consumed))
                self.carry_newlines = int(newlines.size - np.searchsorted(newlines, consumed))
                bad_tail = None
        else:
            self.carry, bad_tail = b"", None
        good, bad = self._records(data, buf[:consumed], ends, quotes, first_line, newlines, nuls=nuls)
        return good, bad if bad_tail is None else bad + bad_tail

    def _sequential(
        self, data: bytes | memoryview, first_line: int, *, final: bool
    ) -> tuple[pa.Table | None, _Bad, int | None]:
        """The records of `data` read one by one by Python's csv module (lenient about quotes, as DuckDB is).

        Unless `final`, the last record is left out (its quoted value may go on in the next piece) and the third
        value is the line, counted from 0 in `data`, on which it starts."""
        text = bytes(data).decode("utf-8", "surrogateescape")
        csv.field_size_limit(
            max(csv.field_size_limit(), lines.MAX_LINE_BYTES + 1)
        )  # a long value is ours to reject
        read = 0  # lines read so far

        def numbered() -> Iterator[str]:
            nonlocal read
            for line in io.StringIO(text, newline="\n"):
                read += 1
                yield line

        source = numbered()
        delimiter = chr(self.delimiter)
        records = _Collected(self.width)
        while True:
            start = first_line + read
            try:
                record = next(csv.reader(source, delimiter=delimiter, strict=False))
            except StopIteration:
                break
            except csv.Error:  # a bare CR inside an unquoted value: the line is not CSV
                records.add(start, [], _QUOTING, delimiter)
                continue
            if record and self.header_pending:
                self.header_pending = False
            elif record:  # not a blank line
                joined = delimiter.join(record)
                records.add(start, record, _record_problem(record, joined, self.width), delimiter)
        last = None if final else records.drop_last()
        good, bad = records.result()
        return good, bad, None if last is None else last - first_line

    def _records(
        self,
        data: bytes | memoryview,
        buf: np.ndarray,
        ends: np.ndarray,
        quotes: np.ndarray,
        first_line: int,
        newlines: np.ndarray,
        *,
        nuls: bool,
    ) -> tuple[pa.Table | None, _Bad]:
        if not ends.size:
            return None, _NONE
        quotes = quotes[quotes < buf.size]
        starts = np.concatenate(([0], ends[:-1] + 1))
        has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CARRIAGE_RETURN)
        lengths = ends - starts - has_cr
        numbers = first_line + np.searchsorted(newlines, starts)
        delimiters = np.flatnonzero(buf == self.delimiter)
        delimiters = delimiters[np.searchsorted(quotes, delimiters) % 2 == 0]
        fields = np.searchsorted(delimiters, ends) - np.searchsorted(delimiters, starts) + 1
        problem = np.zeros(ends.size, dtype=np.int8)
        problem[fields != self.width] = _FIELDS
        problem[np.searchsorted(ends, _misplaced(buf, quotes, self.delimiter))] = _QUOTING
        if nuls:
            problem[np.searchsorted(ends, np.flatnonzero(buf == 0))] = _NUL
        problem[lengths > lines.MAX_LINE_BYTES] = _LONG
        keep = lengths > 0  # blank lines (padding dropped) are not records
        if self.header_pending and keep.any():  # the header, which `canonical` read and checked
            keep[np.argmax(keep)] = False
            self.header_pending = False
        bad_index = np.flatnonzero(keep & (problem > 0))
        bad = _NONE
        if bad_index.size:
            records = pa.Array.from_buffers(
                pa.large_binary(),
                ends.size,
                [None, pa.py_buffer(np.append(starts, buf.size).astype(np.int64)), pa.py_buffer(data)],
            )
            raws = pc.binary_slice(
                pc.binary_slice(records.take(pa.array(bad_index)), 0, -1), 0, 4 * MAX_RAW_CHARS
            )
            bad = _Bad(numbers[bad_index], problem[bad_index], fields[bad_index], raws)
        good = keep & (problem == 0)
        if not good.any():
            return None, bad
        # Every field of the piece is one value of a binary array over the piece's own bytes (no copy), followed
        # by a value holding what ends it (the delimiter, or the record's LF or CRLF); a record's fields are
        # consecutive, so each record is a list over that array (no copy either), read by DuckDB as `_f`.
        bounds = np.sort(np.concatenate((starts, delimiters + 1)), kind="stable")
        field_ends = np.append(bounds[1:], buf.size) - 1
        first_field = np.cumsum(fields) - fields
        last_field = first_field + fields - 1
        field_ends[last_field[has_cr]] -= 1
        offsets = np.empty(2 * bounds.size + 1, dtype=np.int64)
        offsets[0:-1:2], offsets[1::2], offsets[-1] = bounds, field_ends, buf.size
        values = pa.Array.from_buffers(
            pa.large_binary(), 2 * bounds.size, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        try:
            text = values.cast(pa.large_string())
        except pa.ArrowInvalid:  # some value is not UTF-8: one column per field, checked value by value
            table = {"_line": pa.array(numbers[good])}
            for j in range(self.width):
                table[f"c{j}"] = values.take(pa.array(2 * (first_field[good] + j)))
            return pa.table(table), bad
        records = pa.LargeListArray.from_arrays(pa.array(np.append(2 * first_field, 2 * bounds.size)), text)
        return pa.table({"_line": pa.array(numbers), "_good": pa.array(good), "_f": records}), bad


def _pieces(staging: Staging, splitter: _Splitter) -> Iterator[tuple[pa.Table | None, _Bad]]:
    with staging.path.open("rb") as handle:
        for piece in line_pieces(handle):
            if isinstance(piece, Oversized):
                yield splitter.oversized(piece)
                staging.reporter.advance(len(piece.start))
            else:
                yield splitter.split(piece)
                staging.reporter.advance(len(piece))
    if splitter.carry:
        yield splitter.split(b"", final=True)


def _unquote(column: str) -> str:
    """SQL for a field's value: NULL when empty, the text between the quotes (doubled quotes undone) when
    quoted; well-formed quoting was checked by numpy."""
    return f"""CASE WHEN {column} = '' THEN NULL
        WHEN starts_with({column}, '"') THEN replace(substr({column}, 2, length({column}) - 2), '""', '"')
        ELSE {column} END"""


def stage_delimited(staging: Staging, header: list[str], delimiter: str) -> tuple[str, int]:
    """Stage the records after the header line as a table of `_line`, `_problem`, `_raw` and one text column per
    header name (`_problem` set, the columns NULL, for a rejected record). Returns it and the records read."""
    conn = staging.conn
    width = len(header)
    name = staging.temp_name("csv")
    columns = ", ".join(f"{quote_ident(h)} VARCHAR" for h in header)
    run(
        conn,
        f"CREATE TEMP TABLE {name} (_line BIGINT, _problem VARCHAR, _field VARCHAR, _raw VARCHAR, {columns})",
    )
    splitter = _Splitter(ord(delimiter), width)
    staging.reporter.start(f"reading {staging.path.name}", total=staging.path.stat().st_size)
    read = 0
    for good, bad in _pieces(staging, splitter):
        if good is not None:
            read += int(pc.sum(good["_good"]).as_py() or 0) if "_good" in good.column_names else good.num_rows
        read += bad.lines.size
        if good is not None and "_good" in good.column_names:
            _insert_listed(staging, name, good, width)
        elif good is not None and good.num_rows:
            _insert_good(staging, name, good, header)
        if bad.lines.size:
            _insert_bad(staging, name, bad, header)
    staging.reporter.finish()
    return name, read


def _insert_good(staging: Staging, name: str, good: pa.Table, header: list[str]) -> None:
    conn = staging.conn
    try:
        texts = {c: good.column(c).cast(pa.large_string()) for c in good.column_names if c != "_line"}
    except pa.ArrowInvalid:
        # Some value is not UTF-8: decode value by value; a record with such a value is rejected whole.
        conn.register("_seclo_csv", good)
        width = len(header)
        decoded = ", ".join(f"try(decode(CAST(c{j} AS BLOB))) AS d{j}" for j in range(width))
        utf8 = " AND ".join(f"d{j} IS NOT NULL" for j in range(width))
        raws = " || ',' || ".join(f"CAST(CAST(c{j} AS BLOB) AS VARCHAR)" for j in range(width))
        values = ", ".join(f"CASE WHEN ok THEN {_unquote(f'd{j}')} END" for j in range(width))
        run(
            conn,
            f"""INSERT INTO {name} SELECT _line, CASE WHEN NOT ok THEN 'not valid UTF-8 text' END, NULL,
                CASE WHEN NOT ok THEN left(raw, {MAX_RAW_CHARS}) END, {values}
            FROM (SELECT *, {utf8} AS ok, {raws} AS raw FROM (SELECT *, {decoded} FROM _seclo_csv))""",
        )
    else:
        conn.register("_seclo_csv", pa.table({"_line": good.column("_line"), **texts}))
        values = ", ".join(_unquote(f"c{j}") for j in range(len(header)))
        run(conn, f"INSERT INTO {name} SELECT _line, NULL, NULL, NULL, {values} FROM _seclo_csv")
    conn.unregister("_seclo_csv")


def _insert_listed(staging: Staging, name: str, records: pa.Table, width: int) -> None:
    """Insert the good records of a table of `_line`, `_good` and `_f` (fields at odd list positions)."""
    conn = staging.conn
    conn.register("_seclo_csv", records)
    fields = ", ".join(f"_f[{2 * j + 1}] AS c{j}" for j in range(width))
    values = ", ".join(_unquote(f"c{j}") for j in range(width))
    run(
        conn,
        f"""INSERT INTO {name} SELECT _line, NULL, NULL, NULL, {values}
        FROM (SELECT _line, {fields} FROM _seclo_csv WHERE _good)""",
    )
    conn.unregister("_seclo_csv")


def _insert_bad(staging: Staging, name: str, bad: _Bad, header: list[str]) -> None:
    """Insert the rejected records; a short one names the first column it lacks."""
    conn = staging.conn
    table = pa.table(
        {
            "_line": pa.array(bad.lines, pa.int64()),
            "_code": pa.array(bad.codes, pa.int8()),
            "_fields": pa.array(bad.fields, pa.int64()),
            "_raw": bad.raws,
        }
    )
    reasons = " ".join(f"WHEN {code} THEN {sql_literal(reason)}" for code, reason in _REASONS.items())
    columns = "[" + ", ".join(sql_literal(h) for h in header) + "]"
    conn.register("_seclo_csv_bad", table)
    run(
        conn,
        f"""INSERT INTO {name} (_line, _problem, _field, _raw)
        SELECT _line, CASE _code {reasons} ELSE 'expected {len(header)} fields, got ' || _fields END,
            CASE WHEN _code = {_FIELDS} THEN {columns}[_fields + 1] END,
            left(coalesce(try(decode(CAST(_raw AS BLOB))), CAST(CAST(_raw AS BLOB) AS VARCHAR)), {MAX_RAW_CHARS})
        FROM _seclo_csv_bad""",
    )
    conn.unregister("_seclo_csv_bad")
