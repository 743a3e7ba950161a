"""The engine with its background recorder: many runs per commit, a chain that holds, durable destructive steps."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playbook_helpers import alert, playbook, rows, workspace
from sink import Sink, running_sink

from seclo.playbooks import Occurrence, PlaybookRunner, load_playbooks, verify_chain
from seclo.store import Store
from seclo.store.sql import run
from seclo.workspace import Workspace


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A running HTTP sink on 127.0.0.1."""
    with running_sink() as server:
        yield server


def _step(sink: Sink, name: str, *, destructive: bool = False) -> str:
    flag = ", destructive: true" if destructive else ""
    return f"    - {{name: {name}, type: http, url: '{sink.url('/' + name)}', body: {{}}{flag}}}\n"


class _StoreAtStepStart:
    """An observer that notes, as each step starts, whether the run's claim is already in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: list[tuple[str, bool]] = []

    def step_started(self, run_id: str, playbook: str, step: str, occurrence: Occurrence) -> None:
        cursor = self.store.conn.cursor()  # another connection: it sees committed rows only
        try:
            [(count,)] = cursor.execute(
                "SELECT count(*) FROM playbook_runs WHERE run_id = ?", [run_id]
            ).fetchall()
        finally:
            cursor.close()
        self.seen.append((step, count == 1))


def _engine(ws: Workspace, store: Store, **options: object) -> PlaybookRunner:
    return PlaybookRunner(ws, store, load_playbooks(ws.root / "playbooks"), env={}, **options)  # type: ignore[arg-type]


def test_concurrent_webhooks_are_all_recorded_in_few_commits(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """200 alerts from 8 threads: 200 runs on disk after a flush, the chain intact, far fewer commits than runs."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _step(sink, "page"))})
    engine = _engine(ws, store)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(
            pool.map(
                lambda i: engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint=f"f{i}")),
                range(200),
            )
        )
    engine.flush()
    assert all(o.status == "succeeded" for [o] in outcomes)
    assert rows(
        store,
        "SELECT count(*), count(DISTINCT idempotency_key) FROM playbook_runs WHERE status = 'succeeded'",
    ) == [(200, 200)]
    check = verify_chain(store)
    assert check.ok
    assert check.records == 200 * 5  # decision, run_start, step_start, step_end, run_end
    assert engine.recorder.commits < 100
    engine.close()


def test_redelivered_alerts_during_a_burst_run_once(tmp_path: Path, store: Store, sink: Sink) -> None:
    """The same alert delivered 20 times at once runs once; the other deliveries are recorded duplicates."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _step(sink, "page"))})
    engine = _engine(ws, store)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [
            o
            for batch in pool.map(lambda _: engine.handle_alertmanager(alert({"alertname": "A"})), range(20))
            for o in batch
        ]
    engine.close()
    assert sorted(o.decision for o in outcomes) == ["duplicate"] * 19 + ["ran"]
    assert sink.paths() == ["/page"]
    assert rows(store, "SELECT count(*) FROM playbook_runs") == [(1,)]


def test_a_destructive_step_starts_only_once_its_claim_is_on_disk(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """With commits held back, the first step starts before the claim is stored, the destructive one after it."""
    steps = _step(sink, "page") + _step(sink, "disable", destructive=True)
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", steps)})
    observer = _StoreAtStepStart(store)
    engine = _engine(ws, store, observer=observer, commit_delay=3600.0)
    [outcome] = engine.handle_alertmanager(alert({"alertname": "A"}))
    engine.close()
    assert outcome.status == "succeeded"
    assert observer.seen == [("page", False), ("disable", True)]
    assert verify_chain(store).ok


def test_a_claim_lost_to_another_process_stops_before_the_destructive_step(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """When the key was stored by someone else after the engine loaded its claims, the destructive step never runs."""
    steps = _step(sink, "page") + _step(sink, "disable", destructive=True)
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", steps)})
    engine = _engine(ws, store)
    occurrence = "alertmanager:fp1:2026-11-23T10:00:00Z:firing"
    run(  # what another process's run does after this engine loaded the claimed keys
        store.conn,
        "INSERT INTO playbook_runs VALUES ('other', 'p', 'automatic', 'alertmanager', ?, ?, now()::TIMESTAMP, "
        "NULL, 'running', 0, NULL, NULL, '{}')",
        [occurrence, f"p:{occurrence}"],
    )
    [outcome] = engine.handle_alertmanager(alert({"alertname": "A"}))
    engine.close()
    assert outcome.status == "failed"
    assert "another process ran this occurrence first" in outcome.detail
    assert sink.paths() == ["/page"]
    assert rows(store, "SELECT run_id FROM playbook_runs") == [("other",)]
    check = verify_chain(store)
    assert check.broken_seq is None
    assert check.unaudited == ("other",)  # the stand-in for the other process wrote no audit records


def test_two_engines_on_one_store_keep_one_chain(tmp_path: Path, store: Store, sink: Sink) -> None:
    """Records of two engines committed in turns chain onto each other: the trail verifies as one chain."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _step(sink, "page"))})
    first, second = _engine(ws, store), _engine(ws, store)
    for i in range(3):
        first.handle_alertmanager(alert({"alertname": "A"}, fingerprint=f"a{i}"))
        first.flush()
        second.handle_alertmanager(alert({"alertname": "A"}, fingerprint=f"b{i}"))
        second.flush()
    first.close()
    second.close()
    check = verify_chain(store)
    assert check.ok
    assert check.records == 6 * 5
