"""The inbox journal's compaction: it shrinks after merges, loses nothing and merges nothing twice, even
across a crash between its steps or while other processes append."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seclo.server.journal as journal_module
from seclo.server.inbox import AlertInbox, MergeResult
from seclo.server.journal import Position
from seclo.store import Store

RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _payload(fingerprint: str) -> dict[str, Any]:
    alert = {
        "status": "firing",
        "labels": {"alertname": "A"},
        "startsAt": "2026-11-23T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }
    return {"version": "4", "groupKey": "g", "status": "firing", "receiver": "seclo", "alerts": [alert]}


def _fingerprints(store: Store) -> list[str]:
    return [
        row[0] for row in store.conn.execute("SELECT fingerprint FROM alert_events ORDER BY 1").fetchall()
    ]


def _rejected_lines(store: Store) -> list[int]:
    return [row[0] for row in store.conn.execute("SELECT line FROM rejected ORDER BY 1").fetchall()]


def test_merged_lines_are_compacted_away_and_line_numbers_carry_on(tmp_path: Path, store: Store) -> None:
    """Past the threshold the merged part is dropped; a later unreadable line keeps its place in the history."""
    inbox = AlertInbox(tmp_path / "inbox", compact_bytes=1000)
    for i in range(20):
        inbox.accept(_payload(f"a{i:02}"), RECEIVED)
    grown = inbox.journal.stat().st_size
    assert grown > 1000
    assert inbox.merge(store).new == 20
    header = json.loads(inbox.journal.read_bytes().splitlines()[0])
    assert header == {"seclo_inbox_journal": 1, "generation": 1, "lines_before": 20}
    assert inbox.journal.stat().st_size < 100
    with inbox.journal.open("ab") as file:
        file.write(b"{broken\n")  # line 21 of the journal's history
    inbox.accept(_payload("b"), RECEIVED)
    result = inbox.merge(store)
    assert (result.lines, result.new, result.rejected) == (2, 1, 1)
    assert _rejected_lines(store) == [21]
    assert _fingerprints(store) == [*(f"a{i:02}" for i in range(20)), "b"]
    assert not inbox.pending()


def test_a_crash_between_the_compaction_and_its_cursor_loses_and_repeats_nothing(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal is replaced but the cursor still names the old file: merging resumes after the header."""
    folder = tmp_path / "inbox"
    inbox = AlertInbox(folder, compact_bytes=1)
    inbox.accept(_payload("a"), RECEIVED)
    with inbox.journal.open("ab") as file:
        file.write(b"{broken\n")
    writes: list[Position] = []
    real = journal_module._write_cursor

    def crash_on_the_compaction_cursor(cursor: Path, at: Position) -> None:
        writes.append(at)
        if len(writes) == 2:
            raise KeyboardInterrupt("power cut")  # after the rename, before the cursor
        real(cursor, at)

    monkeypatch.setattr(journal_module, "_write_cursor", crash_on_the_compaction_cursor)
    with pytest.raises(KeyboardInterrupt):
        inbox.merge(store)
    monkeypatch.setattr(journal_module, "_write_cursor", real)
    assert json.loads(inbox.journal.read_bytes().splitlines()[0])["generation"] == 1
    assert inbox.cursor.read_text().split()[1] == "0"  # the cursor still names generation 0
    restarted = AlertInbox(folder, compact_bytes=1)
    restarted.accept(_payload("b"), RECEIVED)
    result = restarted.merge(store)
    assert (result.lines, result.new, result.rejected) == (1, 1, 0)
    assert _fingerprints(store) == ["a", "b"]
    assert _rejected_lines(store) == [2]
    restarted.accept("not a payload", RECEIVED)  # line 4 of the history
    assert restarted.merge(store).rejected == 1
    assert _rejected_lines(store) == [2, 4]


def test_a_crash_before_the_rename_leaves_the_journal_whole(tmp_path: Path, store: Store) -> None:
    """A half-written new journal left by a crash is ignored, then cleared by the next compaction."""
    inbox = AlertInbox(tmp_path / "inbox", compact_bytes=10**9)
    inbox.accept(_payload("a"), RECEIVED)
    assert inbox.merge(store).new == 1
    stale = inbox.journal.parent / ".alertmanager.ndjson.x1y2.tmp"
    stale.write_bytes(b'{"seclo_inbox_journal":1,"generation":1,"lines_before":1}\n{"half')
    inbox.accept(_payload("b"), RECEIVED)
    compacting = AlertInbox(tmp_path / "inbox", compact_bytes=1)
    assert (compacting.merge(store).lines, compacting.merge(store).lines) == (1, 0)
    assert _fingerprints(store) == ["a", "b"]
    assert not stale.exists()
    assert inbox.journal.read_bytes().count(b"\n") == 1  # the header alone


def test_a_cursor_of_the_old_format_is_still_honoured(tmp_path: Path, store: Store) -> None:
    """A cursor holding only a byte offset (seclo before compaction) resumes there, counting the lines."""
    inbox = AlertInbox(tmp_path / "inbox")
    inbox.accept(_payload("a"), RECEIVED)
    inbox.cursor.write_text(f"{inbox.journal.stat().st_size}\n")
    inbox.accept("unreadable", RECEIVED)
    result = inbox.merge(store)
    assert (result.lines, result.new, result.rejected) == (1, 0, 1)
    assert _rejected_lines(store) == [2]


APPEND = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from seclo.server.inbox import AlertInbox
inbox = AlertInbox(Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    alert = {"status": "firing", "labels": {}, "startsAt": "2026-11-23T08:00:00Z", "fingerprint": f"{sys.argv[2]}{i}"}
    payload = {"version": "4", "groupKey": "g", "status": "firing", "receiver": "r", "alerts": [alert]}
    inbox.accept(payload, datetime(2026, 11, 23, tzinfo=UTC))
"""


def test_appends_from_other_processes_and_threads_survive_compactions(tmp_path: Path, store: Store) -> None:
    """Two processes and a thread append while merges compact the journal: each line is merged exactly once."""
    folder = tmp_path / "inbox"
    inbox = AlertInbox(folder, compact_bytes=2048)
    writers = [
        subprocess.Popen([sys.executable, "-c", APPEND, str(folder), prefix, "150"]) for prefix in ("p", "q")
    ]

    def append() -> None:
        for i in range(150):
            inbox.accept(_payload(f"t{i}"), RECEIVED)

    thread = threading.Thread(target=append)
    thread.start()
    results: list[MergeResult] = []
    while thread.is_alive() or any(w.poll() is None for w in writers):
        results.append(inbox.merge(store))
    thread.join()
    assert [w.wait() for w in writers] == [0, 0]
    results.append(inbox.merge(store))
    assert sum(r.lines for r in results) == 450  # no line read twice, none skipped
    assert sum(r.new for r in results) == 450
    assert len(set(_fingerprints(store))) == 450
    assert sum(r.rejected for r in results) == 0
    assert inbox.journal.stat().st_size < 2048 + 450
    assert not inbox.pending()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_ALERT = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["firing", "resolved"]),
        "labels": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
        "startsAt": st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()) | _JSON,
        "endsAt": st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()) | _JSON,
        "fingerprint": st.text(min_size=1, max_size=10) | _JSON,
    }
)
_LINE = (
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" "))
    | _JSON.map(lambda d: json.dumps(d).encode())
    | st.lists(_ALERT, max_size=3).map(
        lambda alerts: json.dumps(
            {"received_at": "2026-11-23T10:00:00+00:00", "payload": {**_payload("x"), "alerts": alerts}}
        ).encode()
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, min_size=1, max_size=6))
def test_any_journal_line_is_merged_or_rejected_never_raised(
    tmp_path_factory: pytest.TempPathFactory, store: Store, lines: list[bytes]
) -> None:
    """Whatever bytes the journal holds, the merge goes through: each alert lands or is rejected, none raises."""
    inbox = AlertInbox(tmp_path_factory.mktemp("inbox"), compact_bytes=100)
    inbox.journal.parent.mkdir(parents=True, exist_ok=True)
    inbox.journal.write_bytes(b"".join(line + b"\n" for line in lines))
    result = inbox.merge(store)
    assert result.lines == sum(1 for line in lines if line.strip())
    assert not inbox.pending()
    rejected = store.conn.execute(
        "SELECT count(*) FROM rejected WHERE source = ?", [str(inbox.journal)]
    ).fetchall()[0][0]
    assert rejected == result.rejected >= result.unreadable
