"""The engine against a real HTTP receiver on 127.0.0.1: triggers, conditions, idempotency, failures, approvals."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playbook_helpers import alert, playbook, rows, runner, workspace
from sink import Sink, running_sink

from seclo.errors import InputError
from seclo.playbooks import verify_chain
from seclo.store import Store
from seclo.store.sql import run

POST = "    - {{name: notify, type: http, url: '{url}', body: {{text: '{{{{ trigger.summary_text }}}}'}}}}\n"


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A running HTTP sink on 127.0.0.1."""
    with running_sink() as server:
        yield server


def _http(sink: Sink, path: str = "/hook", body: str = "{text: 'hello {{ playbook.name }}'}") -> str:
    return f"    - {{name: notify, type: http, url: '{sink.url(path)}', body: {body}, backoff: 10ms}}\n"


def test_alertmanager_alert_runs_once_per_occurrence(tmp_path: Path, store: Store, sink: Sink) -> None:
    """A matching webhook alert posts once; the same alert delivered again does not run twice."""
    ws = workspace(
        tmp_path,
        {"p.yaml": playbook("p", "{type: alertmanager, labels: {alertname: 'Login*'}}", _http(sink))},
    )
    engine = runner(ws, store)
    first = engine.handle_alertmanager(alert({"alertname": "LoginFailures"}))
    again = engine.handle_alertmanager(alert({"alertname": "LoginFailures"}))
    other = engine.handle_alertmanager(alert({"alertname": "DiskFull"}, fingerprint="fp2"))
    assert [o.status for o in first] == ["succeeded"]
    assert [o.decision for o in again] == ["duplicate"]
    assert other == []
    assert sink.paths() == ["/hook"]
    assert sink.requests[0]["body"] == {"text": "hello p"}


def test_conditions_gate_the_run(tmp_path: Path, store: Store, sink: Sink) -> None:
    """An alert whose fields fail a condition sends nothing and records the decision."""
    extra = "  conditions: [\"trigger.labels.severity == 'critical'\"]\n"
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _http(sink), extra=extra)})
    engine = runner(ws, store)
    low = engine.handle_alertmanager(alert({"alertname": "A", "severity": "warning"}))
    high = engine.handle_alertmanager(alert({"alertname": "A", "severity": "critical"}, fingerprint="fp9"))
    assert [o.decision for o in low] == ["conditions_false"]
    assert [o.status for o in high] == ["succeeded"]
    assert len(sink.requests) == 1
    engine.flush()
    decisions = rows(store, "SELECT detail FROM playbook_audit WHERE event = 'decision' ORDER BY seq")
    assert '"decision":"conditions_false"' in decisions[0][0]


def test_a_failing_step_stops_the_run_and_is_recorded(tmp_path: Path, store: Store, sink: Sink) -> None:
    """After a command exits non-zero the HTTP step never runs, and the run says which step failed and why."""
    steps = (
        f"    - {{name: check, type: command, args: ['{sys.executable}', '-c', 'import sys; sys.exit(3)']}}\n"
        + _http(sink)
    )
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps)})
    [outcome] = runner(ws, store).run("p")
    assert outcome.status == "failed"
    assert sink.requests == []
    [(status, failed_step, error)] = rows(store, "SELECT status, failed_step, error FROM playbook_runs")
    assert (status, failed_step) == ("failed", "check")
    assert "exited with 3" in error
    events = [e for (e,) in rows(store, "SELECT event FROM playbook_audit ORDER BY seq")]
    assert events[-2:] == ["error", "run_end"]


def test_http_retries_with_backoff_until_it_succeeds(tmp_path: Path, store: Store, sink: Sink) -> None:
    """Two 503s then a 200: the step succeeds on the third attempt."""
    sink.statuses += [503, 503]
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", _http(sink))})
    [outcome] = runner(ws, store).run("p")
    assert outcome.status == "succeeded"
    assert len(sink.requests) == 3


def test_a_client_error_is_not_retried(tmp_path: Path, store: Store, sink: Sink) -> None:
    """A 400 fails the step at once."""
    sink.statuses += [400]
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", _http(sink))})
    [outcome] = runner(ws, store).run("p")
    assert outcome.status == "failed"
    assert len(sink.requests) == 1


def test_a_step_past_its_timeout_is_stopped(tmp_path: Path, store: Store) -> None:
    """A command that outlives its timeout is killed and fails the run."""
    steps = f"    - {{name: slow, type: command, timeout: 200ms, args: ['{sys.executable}', '-c', 'import time; time.sleep(30)']}}\n"
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps)})
    [outcome] = runner(ws, store).run("p")
    assert outcome.status == "failed"
    assert "did not finish within 0.2 s" in outcome.steps[0].summary


def test_approval_blocks_a_destructive_step_until_given(tmp_path: Path, store: Store, sink: Sink) -> None:
    """In approval mode a destructive step waits; approving it runs it and the rest."""
    steps = _http(sink, "/first") + (
        f"    - {{name: disable, type: http, destructive: true, url: '{sink.url('/disable')}', body: {{}}}}\n"
    )
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps, mode="approval")})
    engine = runner(ws, store)
    [waiting] = engine.run("p")
    assert waiting.status == "waiting_approval"
    assert sink.paths() == ["/first"]
    assert waiting.run_id is not None
    done = engine.approve(waiting.run_id, "disable", approver="alice", note="owner agreed")
    assert done.status == "succeeded"
    assert sink.paths() == ["/first", "/disable"]
    [(approval,)] = rows(store, "SELECT detail FROM playbook_audit WHERE event = 'approval'")
    assert "alice" in approval


def test_automatic_mode_runs_destructive_steps_without_approval(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """The same steps in an automatic playbook run straight through."""
    steps = (
        f"    - {{name: disable, type: http, destructive: true, url: '{sink.url('/disable')}', body: {{}}}}\n"
    )
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps)})
    [outcome] = runner(ws, store).run("p")
    assert outcome.status == "succeeded"
    assert sink.paths() == ["/disable"]


def test_dry_run_sends_and_records_nothing(tmp_path: Path, store: Store, sink: Sink) -> None:
    """A dry run shows the rendered request but the receiver sees nothing and no run or audit row appears."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", _http(sink))})
    [outcome] = runner(ws, store).run("p", dry_run=True)
    assert outcome.decision == "dry_run"
    assert outcome.steps[0].action["body"] == {"text": "hello p"}
    assert sink.requests == []
    assert rows(store, "SELECT count(*) FROM playbook_runs") == [(0,)]
    assert rows(store, "SELECT count(*) FROM playbook_audit") == [(0,)]


def test_rate_limit_defers_runs_beyond_the_limit(tmp_path: Path, store: Store, sink: Sink) -> None:
    """With max_runs 1 per hour the second alert is rate limited, not run."""
    extra = "  rate_limit: {max_runs: 1, per: 1h}\n"
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _http(sink), extra=extra)})
    engine = runner(ws, store)
    engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint="a"))
    [second] = engine.handle_alertmanager(alert({"alertname": "A"}, fingerprint="b"))
    assert second.decision == "rate_limited"
    assert len(sink.requests) == 1


def test_later_steps_see_earlier_outputs_and_store_steps_write_records(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """A store step renders the HTTP step's JSON response into playbook_records."""
    steps = (
        _http(sink) + "    - {name: keep, type: store, kind: ticket, subject: '{{ steps.notify.json.id }}'}\n"
    )
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps)})
    runner(ws, store).run("p")
    assert rows(store, "SELECT kind, subject FROM playbook_records") == [("ticket", "T-1")]


def test_polled_triggers_fire_once_each(tmp_path: Path, store: Store, sink: Sink) -> None:
    """Experiment verdicts, findings past SLA, new known-exploited findings and schedules each fire, once."""
    files = {
        "exp.yaml": playbook("exp", "{type: experiment_verdict, outcomes: [failed]}", _http(sink, "/exp")),
        "sla.yaml": playbook("sla", "{type: finding_past_sla, severities: [critical]}", _http(sink, "/sla")),
        "kev.yaml": playbook("kev", "{type: known_exploited, within: 2d}", _http(sink, "/kev")),
        "cron.yaml": playbook("cron", "{type: schedule, every: 1h}", _http(sink, "/cron")),
    }
    ws = workspace(tmp_path, files)
    run(
        store.conn,
        "INSERT INTO experiment_runs (run_id, experiment, fault, injected_at, detected_at, outcome) VALUES "
        "('r1', 'mfa-off', 'mfa_disabled', '2024-03-01 10:00', NULL, 'detection_missed'), "
        "('r2', 'port', 'open_port', '2024-03-01 10:00', '2024-03-01 10:05', 'passed')",
    )
    run(
        store.conn,
        "INSERT INTO findings (finding_id, asset_id, vuln_id, severity, opened_at, status, known_exploited) VALUES "
        "('f-old', 'web-1', 'CVE-1', 'critical', '2024-02-01', 'open', false), "
        "('f-new', 'web-2', 'CVE-2', 'high', '2024-03-01 12:00', 'open', true), "
        "('f-ok', 'web-3', 'CVE-3', 'critical', '2024-02-29', 'open', false)",
    )
    engine = runner(ws, store)
    at = datetime(2024, 3, 2)
    first = engine.evaluate(at=at)
    second = engine.evaluate(at=at)
    assert sorted(sink.paths()) == ["/cron", "/exp", "/kev", "/sla"]
    assert {o.playbook: o.occurrence.key for o in first} == {
        "exp": "experiment:r1",
        "sla": "finding_past_sla:f-old",
        "kev": "known_exploited:f-new",
        "cron": "schedule:2024-03-02T00:00:00Z",
    }
    assert {o.decision for o in second} == {"duplicate"}
    engine.flush()
    assert verify_chain(store).ok


def test_audit_chain_detects_a_changed_row(tmp_path: Path, store: Store, sink: Sink) -> None:
    """The chain verifies after runs; editing one record's detail breaks it at that record."""
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", _http(sink))})
    engine = runner(ws, store)
    engine.run("p")
    engine.run("p")
    check = verify_chain(store)
    assert check.ok
    assert check.records >= 10
    run(store.conn, "UPDATE playbook_audit SET detail = replace(detail, 'hello', 'HELLO') WHERE seq = 3")
    broken = verify_chain(store)
    assert broken.broken_seq == 3


def test_an_approval_not_given_in_time_expires(tmp_path: Path, store: Store, sink: Sink) -> None:
    """Past approval_timeout the waiting run is recorded as expired at the next evaluation and cannot be approved."""
    steps = (
        f"    - {{name: disable, type: http, destructive: true, url: '{sink.url('/disable')}', body: {{}}}}\n"
    )
    extra = "  approval_timeout: 2h\n"
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps, mode="approval", extra=extra)})
    engine = runner(ws, store)
    [waiting] = engine.run("p")
    assert waiting.run_id is not None
    assert engine.evaluate(at=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)) == []
    [expired] = engine.evaluate(at=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=3))
    assert (expired.run_id, expired.status) == (waiting.run_id, "expired")
    assert "expired after 2:00:00" in expired.detail
    with pytest.raises(InputError, match="is expired, not waiting"):
        engine.approve(waiting.run_id, "disable", approver="alice")
    engine.flush()
    assert sink.requests == []
    assert rows(store, "SELECT status, failed_step FROM playbook_runs") == [("expired", "disable")]
    events = [e for (e,) in rows(store, "SELECT event FROM playbook_audit ORDER BY seq")]
    assert events[-2:] == ["approval_expired", "run_end"]
    assert verify_chain(store).ok


def test_approving_too_late_expires_the_run(tmp_path: Path, store: Store, sink: Sink) -> None:
    """An approval given after the timeout, before any evaluation noticed, is refused and the run expires."""
    steps = (
        f"    - {{name: disable, type: http, destructive: true, url: '{sink.url('/disable')}', body: {{}}}}\n"
    )
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps, mode="approval")})
    engine = runner(ws, store)
    [waiting] = engine.run("p")
    assert waiting.run_id is not None
    # As if the request had been made 25 hours ago (the edit breaks the chain; this test does not check it).
    run(
        store.conn,
        "UPDATE playbook_audit SET recorded_at = recorded_at - INTERVAL 25 HOURS WHERE event = 'approval_requested'",
    )
    with pytest.raises(InputError, match="expired"):
        engine.approve(waiting.run_id, "disable", approver="alice")
    assert sink.requests == []
    assert rows(store, "SELECT status FROM playbook_runs") == [("expired",)]
