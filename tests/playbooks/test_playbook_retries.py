"""The retry timer: a failed occurrence runs again when its backoff expires, without being seen again."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playbook_helpers import Clock, alert, playbook, rows, workspace
from sink import Sink, running_sink

from seclo.playbooks import PlaybookRunner, load_playbooks, verify_chain
from seclo.playbooks.retries import PendingRetry, RetryTimer
from seclo.store import Store
from seclo.workspace import Workspace

DEADLINE = 60.0  # seconds; generous, since the machine is shared
PAGE = alert({"alertname": "Burn"}, fingerprint="f1")
KEY = "p:alertmanager:f1:2026-11-23T10:00:00Z:firing"


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A running HTTP sink on 127.0.0.1."""
    with running_sink() as server:
        yield server


def _wait(what: str, probe: Callable[[], bool]) -> None:
    """Poll `probe` until it holds; fail after a generous deadline."""
    end = time.monotonic() + DEADLINE
    while not probe():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def _workspace(tmp_path: Path, sink: Sink, retry: str, *, destructive: bool = False) -> Workspace:
    step = (
        f"    - {{name: page, type: http, url: '{sink.url('/page')}', retries: 0, "
        f"destructive: {str(destructive).lower()}, body: {{alert: '{{{{ trigger.fingerprint }}}}'}}}}\n"
    )
    spec = f"  retry: {retry}\n"
    return workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", step, extra=spec)})


def _engine(ws: Workspace, store: Store, clock: Callable[[], datetime] | None = None) -> PlaybookRunner:
    return PlaybookRunner(ws, store, load_playbooks(ws.root / "playbooks"), env={}, clock=clock)


def _decisions(store: Store) -> list[str]:
    return [
        d
        for (d,) in rows(
            store,
            "SELECT detail::JSON->>'decision' FROM playbook_audit WHERE event = 'decision' ORDER BY seq",
        )
    ]


def test_a_failed_page_is_delivered_by_the_timer_on_the_attempt_after_the_failures(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """The receiver fails the first two requests (500): without the alert coming again, the engine retries after
    each backoff and the destructive page is delivered on attempt 3; each attempt is its own run with its own key
    and audit records, and the chain verifies."""
    ws = _workspace(tmp_path, sink, "{attempts: 3, backoff: 200ms}", destructive=True)
    engine = _engine(ws, store)
    timer = engine.start_retries(poll=0.05)
    sink.statuses.extend([500, 500])
    [first] = engine.handle_alertmanager(PAGE)
    _wait("attempt 3", lambda: len(sink.bodies("/page")) == 3 and not timer.busy())
    engine.close()
    assert first.status == "failed"
    assert sink.bodies("/page") == [{"alert": "f1"}] * 3
    runs = rows(store, "SELECT status, idempotency_key FROM playbook_runs ORDER BY started_at")
    assert runs == [("failed", KEY), ("failed", KEY + "#2"), ("succeeded", KEY + "#3")]
    assert _decisions(store) == ["run", "retry", "retry"]
    starts = rows(store, "SELECT count(*) FROM playbook_audit WHERE event = 'run_start'")
    assert starts == [(3,)]
    assert verify_chain(store).ok


def test_the_retry_is_due_at_the_backoff_of_the_engine_clock_and_keeps_the_trigger_context(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """With a pinned clock the retry waits for its due time (backoff after the failure), runs once the clock
    reaches it, and sends what the alert said, as the failed run did."""
    ws = _workspace(tmp_path, sink, "{attempts: 3, backoff: 30s}")
    clock = Clock()
    engine = _engine(ws, store, clock)
    timer = engine.start_retries(poll=3600)
    sink.statuses.append(503)
    engine.handle_alertmanager(PAGE)
    assert timer.pending() == [PendingRetry(KEY, 1, clock.now + timedelta(seconds=30))]
    clock.now += timedelta(seconds=29)
    timer.wake()
    assert timer.pending() == [PendingRetry(KEY, 1, datetime(2026, 12, 1, 12, 0, 30))]
    clock.now += timedelta(seconds=1)
    timer.wake()
    _wait("the retry", lambda: not timer.busy())
    engine.close()
    assert sink.bodies("/page") == [{"alert": "f1"}, {"alert": "f1"}]
    assert rows(store, "SELECT status FROM playbook_runs ORDER BY started_at") == [
        ("failed",),
        ("succeeded",),
    ]


def test_with_its_attempts_exhausted_the_occurrence_fails_for_good(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """With `attempts: 2` and a receiver that keeps failing, the timer runs attempt 2 only: no retry is left
    pending, both runs end failed, and the alert seen again later is refused ("2 attempts failed")."""
    ws = _workspace(tmp_path, sink, "{attempts: 2, backoff: 30s}")
    clock = Clock()
    engine = _engine(ws, store, clock)
    timer = engine.start_retries(poll=3600)
    sink.statuses.extend([500] * 5)
    engine.handle_alertmanager(PAGE)
    clock.now += timedelta(seconds=30)
    timer.wake()
    _wait("attempt 2", lambda: len(sink.bodies("/page")) == 2 and not timer.busy())
    assert timer.pending() == []
    clock.now += timedelta(days=1)
    [refused] = engine.handle_alertmanager(PAGE)
    engine.close()
    assert len(sink.bodies("/page")) == 2
    assert rows(store, "SELECT status FROM playbook_runs") == [("failed",), ("failed",)]
    assert refused.decision == "duplicate"
    assert "2 attempts failed" in refused.detail
    assert verify_chain(store).ok


def test_an_alert_seen_again_before_the_timer_runs_the_attempt_only_once(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """When Alertmanager's repeat arrives after the backoff but before the timer looked, the repeat runs attempt
    2 and the timer, firing afterwards, does not run it again."""
    ws = _workspace(tmp_path, sink, "{attempts: 3, backoff: 30s}")
    clock = Clock()
    engine = _engine(ws, store, clock)
    timer = engine.start_retries(poll=3600)
    sink.statuses.append(500)
    engine.handle_alertmanager(PAGE)
    clock.now += timedelta(seconds=30)
    [repeat] = engine.handle_alertmanager(PAGE)  # the timer has not looked at the clock yet
    timer.wake()
    _wait("the timer", lambda: not timer.busy())
    engine.close()
    assert repeat.status == "succeeded"
    assert len(sink.bodies("/page")) == 2
    assert rows(store, "SELECT count(*) FROM playbook_runs") == [(2,)]
    assert _decisions(store) == ["run", "run"]


def test_closing_drops_pending_retries_and_the_next_sighting_retries(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """Closing the engine while a retry waits drops it (nothing runs, the store is consistent); a new engine
    over the same store retries the occurrence when the alert comes again, as before the timer existed."""
    ws = _workspace(tmp_path, sink, "{attempts: 3, backoff: 30s}")
    clock = Clock()
    engine = _engine(ws, store, clock)
    timer = engine.start_retries(poll=3600)
    sink.statuses.append(500)
    engine.handle_alertmanager(PAGE)
    assert len(timer.pending()) == 1
    engine.close()
    assert timer.pending() == []
    assert len(sink.bodies("/page")) == 1
    clock.now += timedelta(seconds=30)
    again = _engine(ws, store, clock)
    [second] = again.handle_alertmanager(PAGE)
    again.close()
    assert second.status == "succeeded"
    assert rows(store, "SELECT idempotency_key FROM playbook_runs ORDER BY started_at") == [
        (KEY,),
        (KEY + "#2",),
    ]
    assert verify_chain(store).ok


def test_a_retry_that_raises_does_not_stop_the_timer() -> None:
    """A retry whose action raises is logged and the timer goes on: the next due retry still runs."""
    clock = Clock()
    timer = RetryTimer(clock, poll=3600)
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("a bug in one retry")

    try:
        timer.schedule(PendingRetry("p:a", 1, clock.now), broken)
        _wait("the broken retry", lambda: not timer.busy())
        timer.schedule(PendingRetry("p:b", 1, clock.now + timedelta(seconds=5)), lambda: ran.append("b"))
        clock.now += timedelta(seconds=5)
        timer.wake()
        _wait("the next retry", lambda: not timer.busy())
    finally:
        timer.close()
    assert ran == ["b"]


def test_a_retry_of_an_earlier_attempt_does_not_replace_a_later_one() -> None:
    """The retry after attempt 2 stays pending when a late scheduling of attempt 1's retry arrives."""
    clock = Clock()
    timer = RetryTimer(clock, poll=3600)
    later = PendingRetry("p:a", 2, clock.now + timedelta(minutes=1))
    try:
        timer.schedule(later, lambda: None)
        timer.schedule(PendingRetry("p:a", 1, clock.now + timedelta(seconds=30)), lambda: None)
        assert timer.pending() == [later]
    finally:
        timer.close()
    assert timer.pending() == []


HELD = """\
import pathlib, sys, time
folder = pathlib.Path(sys.argv[1])
attempt = len(list(folder.glob("attempt-*"))) + 1
(folder / f"attempt-{attempt}").touch()
if attempt == 1:
    sys.exit(1)
while not (folder / "release").exists():
    time.sleep(0.01)
"""


def test_an_alert_seen_while_the_timer_s_attempt_runs_does_not_start_another(
    tmp_path: Path, store: Store
) -> None:
    """While the timer's attempt 2 is still in its step, the alert comes again: it is a duplicate, so the
    occurrence never has two attempts running at once, and attempt 2 then ends succeeded."""
    folder = tmp_path / "marks"
    folder.mkdir()
    (tmp_path / "held.py").write_text(HELD, encoding="utf-8")
    step = f"    - {{name: work, type: command, args: ['{sys.executable}', '{tmp_path / 'held.py'}', '{folder}']}}\n"
    spec = "  retry: {attempts: 3, backoff: 30s}\n"
    ws = workspace(tmp_path / "ws", {"p.yaml": playbook("p", "{type: alertmanager}", step, extra=spec)})
    clock = Clock()
    engine = _engine(ws, store, clock)
    timer = engine.start_retries(poll=3600)
    [first] = engine.handle_alertmanager(PAGE)
    clock.now += timedelta(seconds=30)
    timer.wake()
    _wait("attempt 2 in its step", (folder / "attempt-2").exists)
    [repeat] = engine.handle_alertmanager(PAGE)
    (folder / "release").touch()
    _wait("attempt 2's end", lambda: not timer.busy())
    engine.close()
    assert first.status == "failed"
    assert repeat.decision == "duplicate"
    assert sorted(p.name for p in folder.iterdir()) == ["attempt-1", "attempt-2", "release"]
    assert rows(store, "SELECT status FROM playbook_runs ORDER BY started_at") == [
        ("failed",),
        ("succeeded",),
    ]
