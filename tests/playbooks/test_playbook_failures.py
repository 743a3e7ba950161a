"""Hostile input and failed steps: no step runs unaudited, no run stays `running`, a failed occurrence is retried."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playbook_helpers import Clock, alert, playbook, rows, runner, workspace
from sink import Sink, running_sink

from seclo.errors import ConfigError, StoreError
from seclo.playbooks import PlaybookRunner, load_playbooks, verify_chain
from seclo.playbooks.access import WorkspaceStore
from seclo.playbooks.receiver import AlertmanagerReceiver
from seclo.store import Store, open_store


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A running HTTP sink on 127.0.0.1."""
    with running_sink() as server:
        yield server


def _notify(sink: Sink, what: str = "{{ trigger.fingerprint }}", extra: str = "") -> str:
    return (
        f"    - {{name: notify, type: http, url: '{sink.url('/notify')}', body: {{what: '{what}'}}, "
        f"retries: 0{extra}}}\n"
    )


def test_a_lone_surrogate_in_a_label_is_recorded_and_the_chain_verifies(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """An alert whose label holds a lone surrogate (valid JSON) runs and is recorded like any other: its run, its
    audit records with the character escaped, an intact chain, and later alerts are recorded too."""
    ws = workspace(
        tmp_path,
        {"p.yaml": playbook("p", "{type: alertmanager}", _notify(sink, "{{ trigger.labels.team }}"))},
    )
    engine = runner(ws, store)
    [first] = engine.handle_alertmanager(alert({"alertname": "A", "team": "x\ud800y"}, fingerprint="f1"))
    [second] = engine.handle_alertmanager(alert({"alertname": "A", "team": "ok"}, fingerprint="f2"))
    engine.flush()
    engine.close()
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert rows(store, "SELECT count(*) FROM playbook_runs WHERE status = 'succeeded'") == [(2,)]
    check = verify_chain(store)
    assert check.ok
    assert check.records == 10
    [(detail,)] = rows(
        store, "SELECT detail FROM playbook_audit WHERE event = 'run_start' ORDER BY seq LIMIT 1"
    )
    assert "x\\ud800y" in detail


def test_when_the_recorder_stops_no_further_step_runs_and_close_says_so(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """When the audit trail cannot be written any more (its table is gone), the recorder stops: the next alert's
    step is not run, the engine says why, and closing returns at once with an error instead of hanging."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _notify(sink))})
    engine = runner(ws, store)
    store.conn.execute("ALTER TABLE playbook_audit RENAME TO playbook_audit_gone")
    engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint="f1"))
    engine.recorder.stopped.wait()
    [outcome] = engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint="f2"))
    assert outcome.decision == "error"
    assert "recorder stopped" in outcome.detail
    assert engine.refusal() is not None
    assert "f2" not in [b["what"] for b in sink.bodies("/notify")]
    with pytest.raises(StoreError, match="recorder stopped"):
        engine.close()


_HOLDER = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.readline()
"""


def test_while_the_store_cannot_be_written_steps_wait_and_do_not_run_unaudited(
    tmp_path: Path, sink: Sink
) -> None:
    """While another process holds the store, a step does not run without its records on disk: it waits, is
    not run, and once the store is free again its run is on disk as failed, with the reason, in an intact chain."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _notify(sink))})
    engine = PlaybookRunner(
        ws, WorkspaceStore(ws), load_playbooks(ws.root / "playbooks"), env={}, durable_timeout=0.5
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(ws.store_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint="f1"))
        while engine.recorder.failing is None:
            engine.recorder.stopped.wait(0.05)
        [outcome] = engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint="f2"))
        assert outcome.status == "failed"
        assert "not started" in outcome.steps[-1].summary
        assert "f2" not in [b["what"] for b in sink.bodies("/notify")]
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait()
    engine.close()
    with open_store(ws.store_path) as store:
        errors = [e for (e,) in rows(store, "SELECT error FROM playbook_runs WHERE status = 'failed'")]
        assert len(errors) == 1
        assert "not started" in errors[0]
        assert verify_chain(store).ok


def test_a_failed_run_is_retried_with_backoff_then_given_up(tmp_path: Path, store: Store, sink: Sink) -> None:
    """A run whose step failed ends `failed`; the same alert is refused until the backoff has passed, then runs
    again (attempt 2, its own idempotency key); after the allowed attempts it is refused for good, also by a
    new engine over the same store."""
    spec = "  retry: {attempts: 3, backoff: 1m}\n"
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _notify(sink), extra=spec)})
    clock = Clock()
    engine = PlaybookRunner(ws, store, load_playbooks(ws.root / "playbooks"), env={}, clock=clock)
    sink.statuses.extend([400, 400, 400])
    page = alert({"alertname": "A"}, fingerprint="f1")
    [first] = engine.handle_alertmanager(page)
    [early] = engine.handle_alertmanager(page)
    clock.now += timedelta(seconds=61)
    [second] = engine.handle_alertmanager(page)
    clock.now += timedelta(seconds=61)  # attempt 3 is due 2 minutes after attempt 2
    [too_early] = engine.handle_alertmanager(page)
    clock.now += timedelta(seconds=60)
    [third] = engine.handle_alertmanager(page)
    engine.close()
    assert [first.status, second.status, third.status] == ["failed", "failed", "failed"]
    assert early.decision == too_early.decision == "duplicate"
    assert "next is due" in early.detail
    assert len(sink.bodies("/notify")) == 3
    keys = [k for (k,) in rows(store, "SELECT idempotency_key FROM playbook_runs ORDER BY started_at")]
    assert keys[1:] == [keys[0] + "#2", keys[0] + "#3"]
    clock.now += timedelta(hours=1)
    again = PlaybookRunner(ws, store, load_playbooks(ws.root / "playbooks"), env={}, clock=clock)
    [refused] = again.handle_alertmanager(page)
    again.close()
    assert refused.decision == "duplicate"
    assert "3 attempts failed" in refused.detail
    assert verify_chain(store).ok


def test_a_retry_after_the_backoff_succeeds_and_ends_the_matter(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """The page that failed once is sent when the alert comes again after the backoff, and not again after."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _notify(sink))})
    clock = Clock()
    engine = PlaybookRunner(ws, store, load_playbooks(ws.root / "playbooks"), env={}, clock=clock)
    sink.statuses.append(503)
    page = alert({"alertname": "A"}, fingerprint="f1")
    [first] = engine.handle_alertmanager(page)
    clock.now += timedelta(seconds=30)  # the default backoff
    [second] = engine.handle_alertmanager(page)
    clock.now += timedelta(days=1)
    [third] = engine.handle_alertmanager(page)
    engine.close()
    assert (first.status, second.status, third.decision) == ("failed", "succeeded", "duplicate")
    assert rows(store, "SELECT status FROM playbook_runs ORDER BY started_at") == [
        ("failed",),
        ("succeeded",),
    ]


def test_a_missing_secret_does_not_burn_the_occurrence(tmp_path: Path, store: Store, sink: Sink) -> None:
    """`run` with a declared secret unset refuses with a ConfigError (exit 2) and claims nothing; a webhook is
    answered with decision error and no claim; once the secret is set, the same alert runs and the page goes."""
    steps = (
        f"    - {{name: page, type: http, url: '{sink.url('/page')}', "
        "headers: {Authorization: 'Bearer {{ secrets.PAGER_TOKEN }}'}, body: {}}\n"
    )
    spec = "  secrets: [PAGER_TOKEN]\n"
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", steps, extra=spec)})
    page = alert({"alertname": "A"}, fingerprint="f1")
    engine = runner(ws, store)
    with pytest.raises(ConfigError, match="PAGER_TOKEN"):
        engine.run("p", payload=page)
    [outcome] = engine.handle_alertmanager(page)
    engine.close()
    assert outcome.decision == "error"
    assert rows(store, "SELECT count(*) FROM playbook_runs") == [(0,)]
    engine = runner(ws, store, env={"PAGER_TOKEN": "tok-123456"})
    [outcome] = engine.run("p", payload=page)
    engine.close()
    assert outcome.status == "succeeded"
    assert len(sink.bodies("/page")) == 1


def test_templated_urls_with_line_breaks_spaces_and_accents_are_encoded_not_raised(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """A label with CR/LF, a space, `é`, `/` or `&` is sent percent-encoded as one path segment; the run succeeds
    and nothing is left `running`."""
    steps = (
        f"    - {{name: notify, type: http, url: '{sink.url('/hook/')}{{{{ trigger.labels.team }}}}?q=1', "
        "body: {}, retries: 0}\n"
    )
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", steps)})
    engine = runner(ws, store)
    [outcome] = engine.handle_alertmanager(alert({"alertname": "A", "team": "a b\r\nX-Evil: 1é/&"}))
    engine.close()
    assert outcome.status == "succeeded"
    assert sink.paths() == ["/hook/a%20b%0D%0AX-Evil%3A%201%C3%A9%2F%26?q=1"]
    assert "X-Evil" not in sink.requests[0]["headers"]  # type: ignore[operator]
    assert rows(store, "SELECT count(*) FROM playbook_runs WHERE status = 'running'") == [(0,)]


def test_steps_that_cannot_be_sent_or_started_end_the_run_failed_with_the_reason(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """A header that would hold a line break, and a command argument with a NUL character, fail their runs with
    a reason; no run stays `running` and its occurrence can be retried."""
    header = (
        f"    - {{name: notify, type: http, url: '{sink.url('/h')}', body: {{}}, "
        "headers: {X-Team: '{{ trigger.labels.team }}'}}\n"
    )
    command = "    - {name: run, type: command, args: [echo, '{{ trigger.labels.team }}']}\n"
    ws = workspace(
        tmp_path,
        {
            "h.yaml": playbook("h", "{type: alertmanager}", header),
            "c.yaml": playbook("c", "{type: alertmanager}", command),
        },
    )
    engine = runner(ws, store)
    outcomes = engine.handle_alertmanager(alert({"alertname": "A", "team": "a\r\nb\0c"}))
    engine.close()
    assert {o.playbook: o.status for o in outcomes} == {"h": "failed", "c": "failed"}
    errors = dict(rows(store, "SELECT playbook, error FROM playbook_runs"))
    assert "line break" in errors["h"]
    assert "cannot be started" in errors["c"]
    assert sink.paths() == []
    assert rows(store, "SELECT count(*) FROM playbook_runs WHERE status = 'running'") == [(0,)]


def test_the_receiver_answers_503_once_runs_cannot_be_audited(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """`seclo playbook listen`'s receiver answers 503 to a webhook once the recorder has stopped (Alertmanager
    then retries it), instead of accepting an alert whose run could not be recorded."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _notify(sink))})
    engine = runner(ws, store)
    receiver = AlertmanagerReceiver(engine).start()
    try:
        store.conn.execute("ALTER TABLE playbook_audit RENAME TO playbook_audit_gone")
        engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint="f1"))
        engine.recorder.stopped.wait()
        body = json.dumps(alert({"alertname": "A"}, fingerprint="f2")).encode()
        url = f"http://127.0.0.1:{receiver.port}/"
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback
        assert refused.value.code == 503
        assert "recorder stopped" in refused.value.read().decode()
    finally:
        receiver.close()
        with pytest.raises(StoreError):
            engine.close()
