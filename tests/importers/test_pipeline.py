"""The rules every import follows: nothing lost, strict mode, one transaction, idempotency, clear file errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_checks import reconciles

from seclo.errors import InputError
from seclo.importers import ImportOptions, Staging, get_importer, import_path
from seclo.store import Store, open_store

GOOD = '{"time":"2024-03-01T10:00:%02dZ","user":"u%d","outcome":"%s","src_ip":"198.51.100.%d"}\n'


def _events(n: int, start: int = 0) -> str:
    return "".join(
        GOOD % (i % 60, i, "failure" if i % 3 else "success", i % 250) for i in range(start, start + n)
    )


def _count(store: Store, table: str = "auth_events") -> int:
    return int(store.conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_counts_reconcile_and_rejects_are_kept(store: Store, tmp_path: Path) -> None:
    """Loaded plus rejected equals rows read, and every rejected row is in the rejected table."""
    path = tmp_path / "e.ndjson"
    path.write_text(_events(10) + "garbage\n" + '{"time":"never","outcome":"success"}\n')
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (12, 10, 2)
    assert reconciles(result)
    assert store.conn.execute("SELECT line FROM rejected ORDER BY line").fetchall() == [(11,), (12,)]


def test_strict_loads_nothing_when_a_row_is_invalid(store: Store, tmp_path: Path) -> None:
    """With --strict one invalid row fails the import, names its line and leaves the store empty."""
    path = tmp_path / "e.ndjson"
    path.write_text(_events(5) + '{"time":"2024-03-01","outcome":"meh"}\n')
    with pytest.raises(
        InputError, match=r"1 invalid row, nothing loaded \(--strict\); first at line 6, field outcome"
    ):
        import_path(store, get_importer("events"), path, ImportOptions(strict=True))
    assert _count(store) == 0
    assert _count(store, "rejected") == 0
    assert _count(store, "import_batches") == 0


def test_same_file_twice_adds_nothing(store: Store, tmp_path: Path) -> None:
    """Re-importing a file already imported is recognised and adds no rows."""
    path = tmp_path / "e.ndjson"
    path.write_text(_events(20))
    import_path(store, get_importer("events"), path)
    again = import_path(store, get_importer("events"), path)
    assert again.already_imported
    assert _count(store) == 20


def test_same_rows_in_another_file_are_duplicates(store: Store, tmp_path: Path) -> None:
    """The same events under another name, in another order, are counted as duplicates, not added."""
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text(_events(20))
    b.write_text("".join(reversed(_events(20).splitlines(keepends=True))))
    import_path(store, get_importer("events"), a)
    result = import_path(store, get_importer("events"), b)
    assert (result.rows_loaded, result.rows_duplicate) == (0, 20)
    assert _count(store) == 20


def test_overlapping_export_adds_only_new_rows(store: Store, tmp_path: Path) -> None:
    """A later export that overlaps the first adds only the events the first did not have."""
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text(_events(30))
    b.write_text(_events(20, start=20))
    import_path(store, get_importer("events"), a)
    result = import_path(store, get_importer("events"), b)
    assert (result.rows_loaded, result.rows_duplicate) == (10, 10)
    assert _count(store) == 40


def test_identical_events_in_one_file_are_all_kept(store: Store, tmp_path: Path) -> None:
    """Two identical attempts in the same second are two events; re-importing them elsewhere adds none."""
    line = GOOD % (1, 1, "failure", 1)
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text(line * 3)
    b.write_text(line * 4)
    assert import_path(store, get_importer("events"), a).rows_loaded == 3
    result = import_path(store, get_importer("events"), b)
    assert (result.rows_loaded, result.rows_duplicate) == (1, 3)


def test_overlapping_export_with_a_bad_line_counts_every_row(store: Store, tmp_path: Path) -> None:
    """An overlapping export with an invalid row: new rows load, old ones are duplicates, the bad one is kept."""
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text(_events(30))
    b.write_text(_events(20, start=20) + '{"time":"2024-03-01T10:00:00Z","outcome":"maybe"}\n')
    import_path(store, get_importer("events"), a)
    result = import_path(store, get_importer("events"), b)
    counts = (result.rows_read, result.rows_loaded, result.rows_duplicate, result.rows_rejected)
    assert counts == (21, 10, 10, 1)
    assert store.conn.execute("SELECT line, field FROM rejected").fetchall() == [(21, "outcome")]
    assert _count(store) == 40


def test_file_read_again_line_by_line_keeps_earlier_rows(store: Store, tmp_path: Path) -> None:
    """A file the whole-file reader cannot number ("{}" lines) is read again line by line; the rows of earlier
    imports stay, and each of its rows is counted once."""
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text(_events(10))
    b.write_text(_events(10, start=5) + "{}\n" + _events(1, start=40))
    import_path(store, get_importer("events"), a)
    result = import_path(store, get_importer("events"), b)
    counts = (result.rows_read, result.rows_loaded, result.rows_duplicate, result.rows_rejected)
    assert counts == (12, 6, 5, 1)
    assert store.conn.execute("SELECT line, reason FROM rejected").fetchall() == [
        (11, "missing a value, which is required")
    ]
    assert _count(store) == 16
    assert reconciles(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like a binary file"),
        (b"A" * (10 * 1024 * 1024), "none of its 1 rows could be read as events"),
        (b"time,user,outcome\n2024-01-01,a,success\n", "none of its 2 rows could be read as events"),
    ],
    ids=["empty", "binary", "10MB single line", "CSV given as NDJSON"],
)
def test_unusable_files_give_one_line_errors(
    store: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    """Empty, binary, single-huge-line and wrong-type files get a one-line error naming the file."""
    path = tmp_path / "input.ndjson"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        import_path(store, get_importer("events"), path)
    text = str(info.value)
    assert str(path) in text
    assert message in text
    assert "\n" not in text
    assert _count(store) == 0


def test_missing_file_and_folder_are_named(store: Store, tmp_path: Path) -> None:
    """A path that does not exist, or a folder where a file is expected, is reported as such."""
    with pytest.raises(InputError, match="no such file"):
        import_path(store, get_importer("events"), tmp_path / "nope.ndjson")
    with pytest.raises(InputError, match="is a folder"):
        import_path(store, get_importer("events"), tmp_path)


def test_unknown_kind_lists_the_known_ones() -> None:
    """Asking for a kind seclo does not have lists the kinds it has."""
    with pytest.raises(InputError, match=r"unknown import kind 'evnets'; known kinds: .*events"):
        get_importer("evnets")


def test_interrupt_during_import_leaves_store_unchanged(store: Store, tmp_path: Path) -> None:
    """Ctrl-C after rows were merged but before commit rolls the whole file back."""
    first = tmp_path / "first.ndjson"
    first.write_text(_events(5))
    import_path(store, get_importer("events"), first)
    importer = get_importer("events")

    def interrupt(staging: Staging, batch_id: int) -> None:
        raise KeyboardInterrupt

    importer.after_merge = interrupt  # type: ignore[method-assign]
    second = tmp_path / "second.ndjson"
    second.write_text(_events(50, start=100) + "bad\n")
    with pytest.raises(KeyboardInterrupt):
        import_path(store, importer, second)
    assert _count(store) == 5
    assert _count(store, "rejected") == 0
    assert _count(store, "import_batches") == 1


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from seclo.importers import get_importer, import_path
    from seclo.store import open_store

    store = open_store(Path(sys.argv[1]))
    importer = get_importer("events")

    def hang(staging, batch_id):
        # every row is merged into the open transaction: tell the test, then wait to be killed
        Path(sys.argv[3]).write_text("merged")
        time.sleep(600)

    importer.after_merge = hang
    import_path(store, importer, Path(sys.argv[2]))
    """
)


def test_killed_import_leaves_store_unchanged(tmp_path: Path) -> None:
    """SIGKILL in the middle of an import (rows merged, not committed) leaves the store as it was."""
    db = tmp_path / "s.duckdb"
    with open_store(db) as store:
        before_file = tmp_path / "before.ndjson"
        before_file.write_text(_events(7))
        import_path(store, get_importer("events"), before_file)
    big = tmp_path / "big.ndjson"
    big.write_text(_events(200_000, start=1000))
    marker = tmp_path / "merged"
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(big), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the import process ended before it was killed"
            assert time.monotonic() < deadline, "the import never reached the merge"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with open_store(db) as store:
        assert _count(store) == 7
        assert _count(store, "import_batches") == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=400))
def test_random_bytes_never_crash_ndjson(tmp_path: Path, data: bytes) -> None:
    """Random bytes as canonical NDJSON are rejected with a reason or refused as a file, never a crash."""
    path = tmp_path / "fuzz.ndjson"
    path.write_bytes(data)
    with open_store(None) as store:
        try:
            result = import_path(store, get_importer("events"), path)
        except InputError as exc:
            refused = str(exc)
        else:
            assert reconciles(result)
            return
    assert str(path) in refused


_REAL = [
    json.dumps({"time": "2024-03-01T10:00:00Z", "user": "alice", "outcome": "success", "mfa": True}),
    "time,user,outcome",
    "2024-03-01T10:00:00Z,bob,failure",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from(_REAL),
    cuts=st.lists(st.tuples(st.integers(0, 80), st.text(max_size=3)), max_size=4),
    suffix=st.sampled_from([".ndjson", ".csv"]),
)
def test_mutated_lines_never_crash(
    tmp_path: Path, base: str, cuts: list[tuple[int, str]], suffix: str
) -> None:
    """Real-looking lines with characters inserted or deleted are loaded or rejected with a reason."""
    line = base
    for at, insert in cuts:
        pos = min(at, len(line))
        line = line[:pos] + insert + line[pos + 1 :]
    header = "time,user,outcome\n" if suffix == ".csv" else ""
    path = tmp_path / f"fuzz{suffix}"
    path.write_text(header + line + "\n" + line + "\n", encoding="utf-8", errors="surrogateescape")
    with open_store(None) as store:
        try:
            result = import_path(store, get_importer("events"), path)
        except InputError as exc:
            refused = str(exc)
        else:
            assert reconciles(result)
            reasons = store.conn.execute("SELECT count(*) FROM rejected WHERE reason IS NULL").fetchall()
            assert reasons == [(0,)]
            return
    assert str(path) in refused


def test_same_file_with_other_options_is_imported_again(store: Store, tmp_path: Path) -> None:
    """Re-importing a file with a different time zone is not mistaken for a repeat of the first import."""
    path = tmp_path / "e.csv"
    path.write_text("time,outcome\n2024-03-01 10:00:00,success\n")
    import_path(store, get_importer("events"), path, ImportOptions(timezone="UTC"))
    again = import_path(store, get_importer("events"), path, ImportOptions(timezone="Europe/Berlin"))
    assert not again.already_imported
    assert again.rows_read == 1


def test_utf16_file_gets_a_conversion_tip(store: Store, tmp_path: Path) -> None:
    """A UTF-16 file is named as such, with how to convert it, rather than called binary."""
    path = tmp_path / "e.ndjson"
    path.write_bytes('{"time":"2024-01-01","outcome":"success"}\n'.encode("utf-16"))
    with pytest.raises(InputError, match="is UTF-16 text") as info:
        import_path(store, get_importer("events"), path)
    assert info.value.tip is not None
    assert "iconv" in info.value.tip


def test_file_of_skipped_lines_and_one_bad_line_still_imports(store: Store, tmp_path: Path) -> None:
    """A log with no logins and one garbled line is imported (skipped and rejected), not refused as a whole."""
    path = tmp_path / "kern.log"
    path.write_text("Jun 14 15:16:01 combo kernel: eth0 up\nthis is not syslog at all\n")
    result = import_path(store, get_importer("syslog"), path, ImportOptions(year=2005))
    assert (result.rows_loaded, result.rows_skipped, result.rows_rejected) == (0, 1, 1)


def test_a_refusal_quoting_a_value_with_a_line_break_is_one_line(store: Store, tmp_path: Path) -> None:
    """When no row loads and the first reason quotes a value holding a line break, the error is still one line."""
    path = tmp_path / "events.csv"
    path.write_text('time,user,outcome\n"not\na time",bob,success\n')
    with pytest.raises(InputError) as info:
        import_path(store, get_importer("events"), path)
    assert "\n" not in str(info.value)
    assert "line 2, field time: not a valid TIMESTAMP: not\\na time" in str(info.value)
