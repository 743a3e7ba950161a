"""Canonical NDJSON: the whole-file path and the line-by-line path load and reject the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_checks import edit_text

from seclo.errors import InputError
from seclo.importers import ImportOptions, ImportResult, get_importer, import_path, ndjson
from seclo.importers.interface import Staged, Staging
from seclo.store import Store, open_store
from seclo.store.schema import TableSpec

GOOD = '{"time":"2024-03-01T10:00:%02dZ","user":"u%d","outcome":"success","mfa":true}'

EDGE_CASES = {
    "clean": [GOOD % (i, i) for i in range(5)],
    "bad outcome": [GOOD % (1, 1), '{"time":"2024-03-01T10:00:02Z","outcome":"maybe"}', GOOD % (3, 3)],
    "garbage line": [GOOD % (1, 1), "garbage", GOOD % (3, 3)],
    "blank lines": [GOOD % (1, 1), "", "  ", '{"time":"never","outcome":"success"}', "\r", GOOD % (3, 3)],
    "two objects on a line": [GOOD % (1, 1) + " " + GOOD % (2, 2), GOOD % (3, 3)],
    "object over two lines": ['{"time":', '"2024-03-01T10:00:00Z","outcome":"success"}', GOOD % (3, 3)],
    "not objects": ["null", "[1]", '"text"', "5", "{}", '{"other":1}', GOOD % (3, 3)],
    "objects without a known key": [GOOD % (1, 1), "{}", '{"other":1}', GOOD % (3, 3)],
    "numbers and nesting as text": ['{"time":"2024-03-01","outcome":"failure","user":5,"host":{"a":[1]}}'],
    "lenient JSON": ['{"time":"2024-03-01","outcome":"failure",}', '{"time":"2024-03-01","outcome":NaN}'],
    "duplicate keys": ['{"time":"2024-03-01","outcome":"failure","outcome":"success"}', GOOD % (3, 3)],
    "CRLF and no last newline": [GOOD % (1, 1) + "\r", GOOD % (2, 2) + "\r", GOOD % (3, 3)],
    "bad mfa and time": [
        '{"time":"yesterday","outcome":"success"}',
        '{"time":"2024-03-01","mfa":"perhaps"}',
        GOOD % (3, 3),
    ],
}


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_bytes("\n".join(lines).encode())
    return path


def _outcome(store: Store, result: ImportResult) -> tuple[object, ...]:
    loaded = store.conn.execute("SELECT * EXCLUDE (batch_id) FROM auth_events ORDER BY ALL").fetchall()
    rejected = store.conn.execute(
        "SELECT line, field, reason, raw, category FROM rejected ORDER BY line"
    ).fetchall()
    counts = (result.rows_read, result.rows_loaded, result.rows_rejected)
    return counts, loaded, rejected


def _import_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[object, ...], tuple[object, ...]]:
    with open_store(None) as store:
        either = _outcome(store, import_path(store, get_importer("events"), path))

    def no_whole_file(staging: Staging, spec: TableSpec) -> Staged | None:
        return None

    with monkeypatch.context() as patch, open_store(None) as store:
        patch.setattr(ndjson, "_stage_whole", no_whole_file)
        by_line = _outcome(store, import_path(store, get_importer("events"), path))
    return either, by_line


@pytest.mark.parametrize("lines", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_both_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> None:
    """Whichever path a file takes, the same rows are loaded and the same lines rejected for the same reasons."""
    either, by_line = _import_both_ways(_write(tmp_path, lines), monkeypatch)
    assert either == by_line


def test_malformed_line_in_the_middle_keeps_the_good_rows(store: Store, tmp_path: Path) -> None:
    """One broken line among good ones: the good rows load and the broken one is rejected with its line."""
    lines = [GOOD % (i, i) for i in range(10)]
    lines[4] = '{"time":"2024-03-01T10:00:04Z","outcome":"succ'
    result = import_path(store, get_importer("events"), _write(tmp_path, lines))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (10, 9, 1)
    rejected = store.conn.execute("SELECT line, reason, raw FROM rejected").fetchall()
    assert rejected == [(5, "not a JSON object", lines[4])]


def test_whole_file_rejects_carry_line_and_text(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of well-formed objects takes the whole-file path; an invalid field is named with line and text."""
    lines = [GOOD % (i, i) for i in range(6)]
    lines[3] = json.dumps({"time": "2024-03-01T10:00:03Z", "outcome": "maybe", "extra": [1, 2]})
    taken: list[bool] = []
    whole = ndjson._stage_whole

    def spy(staging: Staging, spec: TableSpec) -> Staged | None:
        staged = whole(staging, spec)
        taken.append(staged is not None)
        return staged

    monkeypatch.setattr(ndjson, "_stage_whole", spy)
    result = import_path(store, get_importer("events"), _write(tmp_path, lines))
    assert taken == [True]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 5, 1)
    rejected = store.conn.execute("SELECT line, field, reason, raw FROM rejected").fetchall()
    assert rejected == [(4, "outcome", "must be one of success, failure, not maybe", lines[3])]


def test_blank_lines_send_the_file_line_by_line(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blank lines would shift the whole-file row numbers, so such a file is read line by line."""
    taken: list[bool] = []
    whole = ndjson._stage_whole

    def spy(staging: Staging, spec: TableSpec) -> Staged | None:
        staged = whole(staging, spec)
        taken.append(staged is not None)
        return staged

    monkeypatch.setattr(ndjson, "_stage_whole", spy)
    lines = [GOOD % (1, 1), "", '{"time":"2024-03-01T10:00:02Z","outcome":"maybe"}']
    result = import_path(store, get_importer("events"), _write(tmp_path, lines))
    assert taken == [False]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert store.conn.execute("SELECT line, field FROM rejected").fetchall() == [(3, "outcome")]
    assert store.conn.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


@pytest.mark.parametrize(
    ("content", "lines"), [(b"", 0), (b"a", 1), (b"a\n", 1), (b"\n\n", 2), (b"a\r\nb", 2)]
)
def test_count_lines(tmp_path: Path, content: bytes, lines: int) -> None:
    """Lines are counted as the line-by-line reader numbers them, a last line without a newline included."""
    path = tmp_path / "f.ndjson"
    path.write_bytes(content)
    assert ndjson.count_lines(path) == lines


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "replace", "delete"]),
            st.integers(0, 400),
            st.sampled_from(list('{}[]":, \n\rx0')),
        ),
        max_size=4,
    )
)
def test_both_paths_agree_on_mutated_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edits: list[tuple[str, int, str]]
) -> None:
    """A good file with a few characters inserted, replaced or deleted is loaded alike by both paths."""
    base = "\n".join(GOOD % (i, i) for i in range(4)) + "\n"
    path = tmp_path / "events.ndjson"
    path.write_text(edit_text(base, edits))
    outcomes = []
    for force_by_line in (False, True):
        with monkeypatch.context() as patch, open_store(None) as store:
            if force_by_line:
                patch.setattr(ndjson, "_stage_whole", lambda staging, spec: None)
            try:
                outcomes.append(_outcome(store, import_path(store, get_importer("events"), path)))
            except InputError as exc:
                outcomes.append((str(exc),))
    assert outcomes[0] == outcomes[1]


FINDING = {
    "finding_id": "F-1",
    "asset_id": "web-1",
    "vuln_id": "CVE-2024-0001",
    "severity": "critical",
    "opened_at": "2024-03-01T00:00:00Z",
    "status": "open",
}


@pytest.mark.parametrize(
    "extra",
    [[], ['{"finding_id":"F-9","severity":"dire"}'], ["{}"]],
    ids=["clean", "invalid severity", "object without a known key"],
)
def test_upsert_tables_agree_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    """Findings replace stored rows, so their file is checked before the merge; either path loads the same."""
    lines = [json.dumps(FINDING), json.dumps(FINDING | {"finding_id": "F-2"}), *extra]
    path = tmp_path / "findings.ndjson"
    path.write_text("\n".join(lines) + "\n")
    outcomes = []
    for force_by_line in (False, True):
        with monkeypatch.context() as patch, open_store(None) as store:
            if force_by_line:
                patch.setattr(ndjson, "_stage_whole", lambda staging, spec: None)
            result = import_path(store, get_importer("findings"), path)
            outcomes.append(
                (
                    (result.rows_read, result.rows_loaded, result.rows_rejected),
                    store.conn.execute("SELECT finding_id, status FROM findings ORDER BY 1").fetchall(),
                    store.conn.execute(
                        "SELECT line, field, reason, raw FROM rejected ORDER BY line"
                    ).fetchall(),
                )
            )
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == (len(lines), 2, len(extra))


def test_a_line_over_the_limit_is_one_reject_not_a_crash(store: Store, tmp_path: Path) -> None:
    """A 33 MB line is one rejected row at its line (it ended in a DuckDB traceback); the others load."""
    path = tmp_path / "events.ndjson"
    with path.open("w") as out:
        out.write(GOOD % (1, 1) + "\n")
        out.write('{"time":"2024-03-01T10:00:02Z","outcome":"success","user":"' + "x" * (33 << 20) + '"}\n')
        out.write(GOOD % (3, 3) + "\n")
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    rejected = store.conn.execute("SELECT line, reason, length(raw) FROM rejected").fetchall()
    assert rejected == [(2, "line is over 16,777,216 bytes; it was not read", 4096)]


def test_a_line_over_the_limit_fails_a_strict_import_naming_its_line(store: Store, tmp_path: Path) -> None:
    """With --strict, a 33 MB line fails the import with an InputError naming the file and line 2."""
    path = tmp_path / "events.ndjson"
    path.write_text(GOOD % (1, 1) + "\n" + '{"user":"' + "x" * (33 << 20) + '"}\n')
    with pytest.raises(InputError, match=r"events\.ndjson: 1 invalid row.*first at line 2: line is over"):
        import_path(store, get_importer("events"), path, ImportOptions(strict=True))
