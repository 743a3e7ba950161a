"""Canonical CSV records: every record ends loaded or as one rejected row at the line it starts on."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seclo.errors import InputError
from seclo.importers import ImportOptions, get_importer, import_path, lines
from seclo.store import Store, open_store

HEADER = "time,user,outcome,mfa,src_ip,service,host,source\n"
GOOD = "2024-03-01T10:00:{:02d}Z,{},success,true,10.0.0.1,ssh,h1,csv\n"


def _rejected(store: Store) -> list[tuple[object, ...]]:
    return store.conn.execute("SELECT line, field, reason FROM rejected ORDER BY line").fetchall()


def test_a_short_row_is_one_reject_at_its_line(store: Store, tmp_path: Path) -> None:
    """A row with 3 of 8 fields is one rejected row at its own line, naming the first missing column.

    DuckDB's reader made it one reject per missing column and shifted the later rows' line numbers (a 7-line
    file was counted as 11 rows).
    """
    path = tmp_path / "events.csv"
    path.write_text(
        HEADER
        + GOOD.format(1, "alice")
        + "2024-03-01T10:01:00Z,bob,failure\n"
        + GOOD.format(3, "carol")
        + GOOD.format(4, "dan")
        + "2024-03-01T10:02:00Z,eve\n"
        + "2024-03-01T10:00:06Z,fay,maybe,true,10.0.0.1,ssh,h1,csv\n"
    )
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 3, 3)
    assert _rejected(store) == [
        (3, "mfa", "expected 8 fields, got 3"),
        (6, "outcome", "expected 8 fields, got 2"),
        (7, "outcome", "must be one of success, failure, not maybe"),
    ]


def test_a_row_over_the_limit_is_one_reject_not_lost(store: Store, tmp_path: Path) -> None:
    """A 33 MB row is one rejected row at its line (DuckDB's reader dropped it: read 2, rejected 0)."""
    path = tmp_path / "events.csv"
    with path.open("w") as out:
        out.write(HEADER + GOOD.format(1, "alice"))
        out.write("2024-03-01T10:00:02Z," + "x" * (33 << 20) + ",success,true,10.0.0.1,ssh,h1,csv\n")
        out.write(GOOD.format(3, "carol"))
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert _rejected(store) == [(3, None, "line is over 16,777,216 bytes; it was not read")]


def test_a_row_over_the_limit_fails_a_strict_import(store: Store, tmp_path: Path) -> None:
    """With --strict, the 33 MB row fails the import naming the file and its line; nothing is loaded."""
    path = tmp_path / "events.csv"
    with path.open("w") as out:
        out.write(HEADER + GOOD.format(1, "alice"))
        out.write("2024-03-01T10:00:02Z,bob,success,true,10.0.0.1,ssh,h1," + "x" * (33 << 20) + "\n")
    with pytest.raises(InputError, match=r"events\.csv: 1 invalid row.*first at line 3: line is over"):
        import_path(store, get_importer("events"), path, ImportOptions(strict=True))
    assert store.conn.execute("SELECT count(*) FROM auth_events").fetchall() == [(0,)]


def test_lines_stay_true_after_a_value_over_two_lines(store: Store, tmp_path: Path) -> None:
    """A quoted value holding a newline is loaded whole, and a later bad row is reported at its physical line."""
    path = tmp_path / "events.csv"
    path.write_text(
        HEADER
        + '2024-03-01T10:00:01Z,"bo\nb",success,true,10.0.0.1,ssh,h1,csv\n'
        + "\n"
        + '2024-03-01T10:00:02Z,"say ""hi"", ok",success,true,10.0.0.1,ssh,h1,csv\n'
        + 'x,ab"c,success,true,1,2,3,4\n'
    )
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    users = store.conn.execute("SELECT user FROM auth_events ORDER BY time").fetchall()
    assert users == [("bo\nb",), ('say "hi", ok',)]
    assert _rejected(store) == [(6, "time", "not a valid TIMESTAMP: x")]


def test_nul_padding_is_dropped_and_a_nul_inside_a_row_rejects_it(store: Store, tmp_path: Path) -> None:
    """NUL padding between rows is dropped; a row with a NUL inside a value is rejected, never loaded."""
    path = tmp_path / "events.csv"
    path.write_bytes(
        (HEADER + GOOD.format(1, "alice")).encode()
        + b"\0" * 5000
        + GOOD.format(2, "b\0ob").encode()
        + GOOD.format(3, "carol").encode()
        + b"\0" * 100
    )
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert _rejected(store) == [(3, None, "holds a NUL byte inside its text (binary data, not padding)")]


def test_an_unclosed_quote_is_one_reject_at_its_line(store: Store, tmp_path: Path) -> None:
    """A quote never closed swallows the rest of the file into one rejected record at the line it opens on."""
    path = tmp_path / "events.csv"
    path.write_text(
        HEADER + GOOD.format(1, "alice") + '2024-03-01T10:00:02Z,"bob\n' + GOOD.format(3, "carol")
    )
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert _rejected(store) == [(3, None, "a quoted value is never closed (it runs to the end of the file)")]


_VALUE = st.text(alphabet=st.sampled_from(list('ab ,"\n\r\té')), max_size=6)


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["good", "short", "long", "nul"]), _VALUE, st.booleans(), st.booleans()),
        max_size=12,
    ),
    chunk=st.integers(8, 200),
)
def test_records_match_pythons_csv_reader_whatever_the_chunk_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[tuple[str, str, bool, bool]], chunk: int
) -> None:
    """For any mix of well-formed, short and long rows with quoted commas, quotes, newlines and CRLF, each row
    is loaded with the value Python's csv module reads, or rejected once at the line it starts on."""
    monkeypatch.setattr(lines, "CHUNK_BYTES", chunk)
    text = "time,outcome,user\n"
    expected_users, expected_rejects = [], []
    line = 2
    for i, (shape, drawn, crlf, quote) in enumerate(rows):
        value = f"a\0b{drawn}" if shape == "nul" else drawn
        user = _quoted(value) if quote or value.startswith('"') or any(c in value for c in ",\n\r") else value
        good = [f"2024-03-01T10:00:{i:02d}Z", "success", user]
        fields = {"good": good, "nul": good, "short": ["2024-03-01", "failure"]}
        record = ",".join(fields.get(shape, ["2024-03-01", "failure", user, "surplus"]))
        text += record + ("\r\n" if crlf else "\n")
        parsed = next(csv.reader(io.StringIO(record)))
        if "\0" in value:
            expected_rejects.append(line)
        elif shape == "good":
            kept = parsed[2]
            expected_users.append(kept if kept != "" else None)
        else:
            expected_rejects.append(line)
        line += record.count("\n") + 1
    path = tmp_path / "events.csv"
    path.write_bytes(text.encode())
    with open_store(None) as store:
        if not rows:
            return
        refused: str | None = None
        try:
            result = import_path(store, get_importer("events"), path)
        except InputError as exc:
            refused = str(exc)
        if refused is not None:
            # Nothing loadable, or NULs inside more than 3 rows and 1% of the bytes: refused as a whole.
            binary = "looks like a binary file" in refused and text.count("\0") > 3
            assert binary or not expected_users, refused
            return
        users = store.conn.execute("SELECT user FROM auth_events ORDER BY time").fetchall()
        rejected = store.conn.execute("SELECT line FROM rejected ORDER BY line").fetchall()
    assert [u for (u,) in users] == expected_users
    assert [r for (r,) in rejected] == expected_rejects
    assert result.rows_read == len(rows)


def test_a_row_that_is_not_utf8_is_rejected_and_the_others_load(store: Store, tmp_path: Path) -> None:
    """A row holding bytes that are not UTF-8 is rejected at its line, with its bytes shown escaped."""
    path = tmp_path / "events.csv"
    path.write_bytes(
        HEADER.encode() + GOOD.format(1, "a\xffb").encode("latin-1") + GOOD.format(2, "bob").encode()
    )
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert _rejected(store) == [(2, None, "not valid UTF-8 text")]
    raw = store.conn.execute("SELECT raw FROM rejected").fetchall()
    assert raw == [("2024-03-01T10:00:01Z,a\\xFFb,success,true,10.0.0.1,ssh,h1,csv",)]


def test_nul_padding_before_the_header_is_dropped(store: Store, tmp_path: Path) -> None:
    """NUL padding at the very start of the file, before the header, is dropped like padding anywhere else."""
    path = tmp_path / "events.csv"
    path.write_bytes(b"\0" * 300 + (HEADER + GOOD.format(1, "alice")).encode())
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded) == (1, 1)


def test_stray_quotes_are_text_and_later_lines_keep_their_numbers(store: Store, tmp_path: Path) -> None:
    """Quotes inside unquoted values (`x"`, `b"c"`) are text and do not swallow the lines after them."""
    path = tmp_path / "events.csv"
    path.write_text(
        "time,user,outcome\n"
        '2024-03-01T10:00:00Z,x",success\n'
        '2024-03-01T10:00:01Z,b"c",success\n'
        "2024-03-01T10:00:03Z,short\n"
        "\n"
        '2024-03-01T10:00:04Z,"multi\nline",failure\n'
        "bad,u,success\n"
    )
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 3, 2)
    users = store.conn.execute("SELECT user FROM auth_events ORDER BY time").fetchall()
    assert users == [('x"',), ('b"c"',), ("multi\nline",)]
    assert _rejected(store) == [
        (4, "outcome", "expected 3 fields, got 2"),
        (8, "time", "not a valid TIMESTAMP: bad"),
    ]
