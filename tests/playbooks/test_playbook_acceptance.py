"""Acceptance: the `seclo` program in real processes, a real HTTP receiver on 127.0.0.1, and SLO triggers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playbook_helpers import alert, playbook, rows, workspace
from sink import Sink, running_sink

from seclo.playbooks import verify_chain
from seclo.store import open_store
from seclo.store.sql import run
from seclo.workspace import Workspace

SECRET = "s3cr3t-T0KEN-4242"  # noqa: S105 - a made-up secret the test hunts for

LOGIN_SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: login}
spec:
  service: identity
  indicator:
    metadata: {name: login}
    spec:
      ratioMetric:
        rawType: success
        raw: {metricSource: {type: seclo, spec: {indicator: login_success}}}
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""
POLICY = """\
apiVersion: seclo/v1
kind: ErrorBudgetPolicy
metadata: {name: team-policy}
spec:
  steps:
    - {name: freeze, when: {budgetExhausted: true}, action: Freeze risky changes.}
"""


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A running HTTP sink on 127.0.0.1."""
    with running_sink() as server:
        yield server


def _seclo(
    ws: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seclo", *args, "--workspace", str(ws)],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def _http(sink: Sink, path: str, field: str = "slo") -> str:
    return f"    - {{name: notify, type: http, url: '{sink.url(path)}', body: {{what: '{{{{ trigger.{field} }}}}'}}}}\n"


def test_slo_alert_and_budget_policy_triggers_fire_once_per_episode(tmp_path: Path, sink: Sink) -> None:
    """A burst of failed logins fires the page alert and exhausts the budget: each playbook posts once."""
    files = {
        "page.yaml": playbook("page", "{type: slo_alert, slo: login, tier: page}", _http(sink, "/page")),
        "freeze.yaml": playbook("freeze", "{type: budget_policy, step: freeze}", _http(sink, "/freeze")),
        "ticket.yaml": playbook("ticket", "{type: slo_alert, slo: other, tier: any}", _http(sink, "/never")),
    }
    ws = workspace(tmp_path, files)
    for name in list((tmp_path / "slos").iterdir()):
        name.unlink()
    (tmp_path / "slos" / "login.yaml").write_text(LOGIN_SLO, encoding="utf-8")
    (tmp_path / "slos" / "policy.yaml").write_text(POLICY, encoding="utf-8")
    with open_store(ws.store_path) as store:
        run(
            store.conn,
            "INSERT INTO auth_events (time, outcome) SELECT TIMESTAMP '2024-03-01 00:00:00' + i * INTERVAL 10 MINUTE, "
            "CASE WHEN i >= 140 THEN 'failure' ELSE 'success' END FROM range(144) t(i)",
        )
    first = _seclo(tmp_path, "playbook", "evaluate", "--at", "2024-03-01T23:59:00Z")
    assert first.returncode == 0, first.stderr
    after_first = len(sink.requests)
    second = _seclo(tmp_path, "playbook", "evaluate", "--at", "2024-03-01T23:59:30Z")
    assert second.returncode == 0, second.stderr
    # One request per firing alert window (page-quick, page-slow) and one for the policy step, none again.
    assert set(sink.paths()) == {"/freeze", "/page"}
    assert len(sink.requests) == after_first == first.stdout.count(": ran run")
    assert "page: ran" in first.stdout
    assert "freeze: ran" in first.stdout
    assert "duplicate" not in first.stdout


def test_webhook_receiver_process_runs_playbooks_once_and_dry_run_sends_nothing(
    tmp_path: Path, sink: Sink
) -> None:
    """`seclo playbook listen` runs a matching playbook per alert once; a dry run of the same sends nothing."""
    ws = workspace(
        tmp_path,
        {
            "p.yaml": playbook(
                "p", "{type: alertmanager, labels: {alertname: Burn}}", _http(sink, "/page", "alertname")
            )
        },
    )
    payload = tmp_path / "alert.json"
    payload.write_text(json.dumps(alert({"alertname": "Burn"}, fingerprint="dry")), encoding="utf-8")
    dry = _seclo(tmp_path, "playbook", "run", "p", "--dry-run", "--payload", str(payload))
    assert dry.returncode == 0, dry.stderr
    assert "would run" in dry.stdout
    assert sink.requests == []
    assert not ws.store_path.exists() or rows_count(ws) == 0

    listener, port = _listen(tmp_path)
    try:
        body = json.dumps(alert({"alertname": "Burn"}, fingerprint="live")).encode()
        deadline = time.monotonic() + 120
        _post(port, body, times=2)  # the same alert twice: Alertmanager repeats notifications
        while len(sink.requests) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # room for a wrong second run to show up
    finally:
        listener.terminate()
        listener.wait(timeout=60)
    assert sink.paths() == ["/page"]


def test_webhook_receiver_process_retries_a_failed_run_when_its_backoff_expires(
    tmp_path: Path, sink: Sink
) -> None:
    """`seclo playbook listen` gets one alert whose page the receiver refuses (500) once: the listener retries it
    on its own after the backoff, the page arrives, and the stopped listener leaves two audited runs."""
    step = f"    - {{name: page, type: http, retries: 0, url: '{sink.url('/page')}', body: {{}}}}\n"
    retry = "  retry: {attempts: 3, backoff: 200ms}\n"
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", step, extra=retry)})
    sink.statuses.append(500)
    listener, port = _listen(tmp_path)
    try:
        _post(port, json.dumps(alert({"alertname": "Burn"}, fingerprint="r1")).encode())
        deadline = time.monotonic() + 120
        while len(sink.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        listener.terminate()
        listener.wait(timeout=60)
    assert listener.returncode == 0
    assert sink.paths() == ["/page", "/page"]
    with open_store(ws.store_path, read_only=True) as store:
        assert rows(store, "SELECT status FROM playbook_runs ORDER BY started_at") == [
            ("failed",),
            ("succeeded",),
        ]
        assert verify_chain(store).ok


def _listen(ws: Path) -> tuple[subprocess.Popen[str], int]:
    """`seclo playbook listen` on a free port of 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    listener = subprocess.Popen(
        [sys.executable, "-m", "seclo", "playbook", "listen", "--port", str(port), "--workspace", str(ws)],
        stderr=subprocess.PIPE,
        text=True,
    )
    return listener, port


def _post(port: int, body: bytes, times: int = 1) -> None:
    """POST `body` to the receiver `times` times, retrying until it has started."""
    deadline = time.monotonic() + 120
    while True:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/",
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http on loopback
                assert response.status == 202
        except OSError:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.2)
        else:
            times -= 1
            if times == 0:
                return


def test_a_destructive_step_is_on_disk_before_it_acts_even_if_the_process_is_killed(
    tmp_path: Path, sink: Sink
) -> None:
    """`seclo playbook listen` killed (SIGKILL) once its destructive request arrived: the run, its claim and the
    step_start record were already committed, and the audit chain verifies."""
    steps = (
        f"    - {{name: disable, type: http, destructive: true, url: '{sink.url('/disable')}', body: {{}}}}\n"
    )
    ws = workspace(tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", steps)})
    listener, port = _listen(tmp_path)
    try:
        _post(port, json.dumps(alert({"alertname": "Burn"}, fingerprint="kill")).encode())
        deadline = time.monotonic() + 120
        while not sink.paths() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        listener.kill()
        listener.wait(timeout=60)
    assert sink.paths() == ["/disable"]
    with open_store(ws.store_path, read_only=True) as store:
        claimed = store.conn.execute("SELECT playbook, idempotency_key FROM playbook_runs").fetchall()
        started = store.conn.execute("SELECT step FROM playbook_audit WHERE event = 'step_start'").fetchall()
        check = verify_chain(store)
    assert claimed == [("p", "p:alertmanager:kill:2026-11-23T10:00:00Z:firing")]
    assert started == [("disable",)]
    assert check.ok


def test_listen_records_every_run_when_stopped_with_sigterm(tmp_path: Path, sink: Sink) -> None:
    """A service manager's SIGTERM stops `seclo playbook listen` cleanly: each run it started is on disk."""
    ws = workspace(
        tmp_path, {"p.yaml": playbook("p", "{type: alertmanager}", _http(sink, "/page", "alertname"))}
    )
    listener, port = _listen(tmp_path)
    try:
        for i in range(5):
            _post(port, json.dumps(alert({"alertname": "Burn"}, fingerprint=f"t{i}")).encode())
        deadline = time.monotonic() + 120
        while len(sink.paths()) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.terminate()
        listener.wait(timeout=60)
    assert listener.returncode == 0
    assert sink.paths() == ["/page"] * 5
    with open_store(ws.store_path, read_only=True) as store:
        assert verify_chain(store).records == 5 * 5
    assert rows_count(ws) == 5


def rows_count(ws: Workspace) -> int:
    """Runs recorded in the workspace's store."""
    with open_store(ws.store_path, read_only=True) as store:
        return int(store.conn.execute("SELECT count(*) FROM playbook_runs").fetchall()[0][0])


def test_approval_through_the_cli_and_manual_walkthrough_show_in_history(tmp_path: Path, sink: Sink) -> None:
    """A destructive step waits until `seclo playbook approve`; a manual run records confirm and skip."""
    steps = (
        f"    - {{name: warn, type: http, url: '{sink.url('/warn')}', body: {{}}}}\n"
        f"    - {{name: disable, type: http, destructive: true, url: '{sink.url('/disable')}', body: {{}}}}\n"
    )
    workspace(
        tmp_path,
        {
            "a.yaml": playbook("auto", "{type: manual}", steps, mode="approval"),
            "m.yaml": playbook("checklist", "{type: manual}", steps, mode="manual"),
        },
    )
    waiting = _seclo(tmp_path, "playbook", "run", "auto")
    assert waiting.returncode == 0, waiting.stderr
    assert sink.paths() == ["/warn"]
    run_id = waiting.stdout.split(" run ")[1].split()[0]
    approved = _seclo(tmp_path, "playbook", "approve", run_id, "disable", "--by", "bob")
    assert approved.returncode == 0, approved.stderr
    assert sink.paths() == ["/warn", "/disable"]

    manual = _seclo(
        tmp_path, "playbook", "run", "checklist", "--manual", stdin="note\nchecked the owner\nconfirm\nskip\n"
    )
    assert manual.returncode == 0, manual.stderr
    assert sink.paths() == ["/warn", "/disable", "/warn"]
    history = _seclo(tmp_path, "playbook", "history", "--runs")
    assert "checklist" in history.stdout
    assert "manual" in history.stdout
    assert "approval" in history.stdout
    with open_store(Workspace.open(tmp_path).store_path, read_only=True) as store:
        choices = rows(store, "SELECT step, detail FROM playbook_audit WHERE event = 'manual' ORDER BY seq")
    assert [step for step, _ in choices] == ["warn", "disable"]
    assert "checked the owner" in choices[0][1]
    assert '"choice":"skip"' in choices[1][1]


def test_secret_from_the_environment_never_reaches_audit_log_or_output(tmp_path: Path, sink: Sink) -> None:
    """The secret is sent to the receiver, yet the audit table, the log file and stdout/stderr never hold it."""
    steps = (
        f"    - {{name: call, type: http, url: '{sink.url('/auth')}', headers: {{Authorization: 'Bearer {{{{ secrets.API_TOKEN }}}}'}}, "
        "body: {token: '{{ secrets.API_TOKEN }}'}}\n"
        f"    - {{name: echo, type: command, args: ['{sys.executable}', '-c', 'import os, sys; print(os.environ[\"T\"]); sys.exit(1)'], "
        "env: {T: '{{ secrets.API_TOKEN }}'}}\n"
    )
    extra = "  secrets: [API_TOKEN]\n"
    ws = workspace(tmp_path, {"s.yaml": playbook("s", "{type: manual}", steps, extra=extra)})
    env = {"API_TOKEN": SECRET}
    outputs = [
        _seclo(tmp_path, "playbook", "run", "s", "--dry-run", env=env),
        _seclo(tmp_path, "playbook", "run", "s", env=env),
        _seclo(tmp_path, "playbook", "history", "--runs", env=env),
    ]
    assert outputs[1].returncode == 1  # the echo step fails on purpose, with the secret in its output
    assert sink.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"  # type: ignore[index]
    for done in outputs:
        assert SECRET not in done.stdout + done.stderr
    assert "[secret API_TOKEN]" in outputs[1].stdout
    log = (tmp_path / ".seclo" / "playbooks.log").read_text(encoding="utf-8")
    assert "step echo failed" in log
    assert SECRET not in log
    with open_store(ws.store_path, read_only=True) as store:
        dumped = store.conn.execute(
            "SELECT string_agg(CAST(a AS VARCHAR), '|') FROM playbook_audit a"
        ).fetchall()[0][0] + str(rows(store, "SELECT * FROM playbook_runs"))
    assert "API_TOKEN" in dumped
    assert SECRET not in dumped


def test_verify_audit_names_the_first_tampered_record(tmp_path: Path, sink: Sink) -> None:
    """verify-audit exits 0 on an intact chain and 1 naming the record after a row is edited."""
    ws = workspace(
        tmp_path,
        {"p.yaml": playbook("p", "{type: manual}", f"    - {{name: n, type: http, url: '{sink.url()}'}}\n")},
    )
    assert _seclo(tmp_path, "playbook", "run", "p").returncode == 0
    intact = _seclo(tmp_path, "playbook", "verify-audit")
    assert intact.returncode == 0
    assert "intact" in intact.stdout
    with open_store(ws.store_path) as store:
        run(store.conn, "UPDATE playbook_audit SET step = 'other' WHERE seq = 4")
    broken = _seclo(tmp_path, "playbook", "verify-audit")
    assert broken.returncode == 1
    assert "broken at record 4" in broken.stdout


def test_a_noted_head_finds_records_removed_from_the_end(tmp_path: Path, sink: Sink) -> None:
    """The chain alone cannot see its last records deleted; the head verify-audit printed, passed back with
    --expect, can: it fails once that record is gone, and when the chain was rebuilt with other hashes."""
    ws = workspace(
        tmp_path,
        {"p.yaml": playbook("p", "{type: manual}", f"    - {{name: n, type: http, url: '{sink.url()}'}}\n")},
    )
    assert _seclo(tmp_path, "playbook", "run", "p").returncode == 0
    first = _seclo(tmp_path, "playbook", "verify-audit")
    head = first.stdout.split("head ")[1].strip()
    seq = int(head.split(":")[0])
    assert _seclo(tmp_path, "playbook", "run", "p").returncode == 0
    assert _seclo(tmp_path, "playbook", "verify-audit", "--expect", head).returncode == 0
    with open_store(ws.store_path) as store:
        run(store.conn, "DELETE FROM playbook_audit WHERE seq >= ?", [seq])
    # What is left of the chain still links up, but runs lost their records: that is reported too.
    cut = _seclo(tmp_path, "playbook", "verify-audit")
    assert cut.returncode == 1
    assert "lack their audit records" in cut.stdout
    gone = _seclo(tmp_path, "playbook", "verify-audit", "--expect", head)
    assert gone.returncode == 1
    assert "records were removed" in gone.stdout
    other = _seclo(tmp_path, "playbook", "verify-audit", "--expect", f"1:{'0' * 64}")
    assert other.returncode == 1
    assert "broken at record 1" in other.stdout
    bad = _seclo(tmp_path, "playbook", "verify-audit", "--expect", "head")
    assert bad.returncode == 2


def test_verify_audit_reports_runs_whose_audit_records_were_all_deleted(tmp_path: Path, sink: Sink) -> None:
    """After `DELETE FROM playbook_audit` the (empty) chain links up, but playbook_runs still holds runs:
    verify-audit exits 1 saying so, instead of "intact: 0 records"."""
    ws = workspace(
        tmp_path,
        {"p.yaml": playbook("p", "{type: manual}", f"    - {{name: n, type: http, url: '{sink.url()}'}}\n")},
    )
    assert _seclo(tmp_path, "playbook", "run", "p").returncode == 0
    assert _seclo(tmp_path, "playbook", "run", "p").returncode == 0
    with open_store(ws.store_path) as store:
        run(store.conn, "DELETE FROM playbook_audit")
    emptied = _seclo(tmp_path, "playbook", "verify-audit")
    assert emptied.returncode == 1
    assert "incomplete (0 records): 2 of the runs" in emptied.stdout


def test_run_with_a_missing_secret_exits_2_and_the_alert_runs_once_it_is_set(
    tmp_path: Path, sink: Sink
) -> None:
    """`seclo playbook run` without the declared secret exits 2 naming it and claims nothing; with the secret
    set, the same Alertmanager payload runs (not a duplicate) and the page is sent."""
    steps = (
        f"    - {{name: page, type: http, url: '{sink.url('/page')}', body: {{}}, "
        "headers: {Authorization: 'Bearer {{ secrets.PAGER_TOKEN }}'}}\n"
    )
    workspace(
        tmp_path,
        {"p.yaml": playbook("p", "{type: alertmanager}", steps, extra="  secrets: [PAGER_TOKEN]\n")},
    )
    payload = tmp_path / "alert.json"
    payload.write_text(json.dumps(alert({"alertname": "BurnRate"})), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PAGER_TOKEN"}
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "seclo",
            "playbook",
            "run",
            "p",
            "--payload",
            str(payload),
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert missing.returncode == 2
    assert "PAGER_TOKEN" in missing.stderr
    sent = _seclo(tmp_path, "playbook", "run", "p", "--payload", str(payload), env={"PAGER_TOKEN": SECRET})
    assert sent.returncode == 0
    assert "succeeded" in sent.stdout
    assert len(sink.bodies("/page")) == 1


def test_a_manual_run_abandoned_at_a_prompt_ends_failed_not_running(tmp_path: Path, sink: Sink) -> None:
    """A manual walkthrough whose prompt gets no answer (end of input, or Ctrl-C) exits non-zero and leaves its
    run `failed` with the reason and its records complete, not `running` forever."""
    ws = workspace(
        tmp_path,
        {
            "p.yaml": playbook(
                "p", "{type: manual}", f"    - {{name: n, type: http, url: '{sink.url()}'}}\n", mode="manual"
            )
        },
    )
    abandoned = _seclo(tmp_path, "playbook", "run", "p", "--manual", stdin="")
    assert abandoned.returncode != 0
    assert sink.requests == []
    with open_store(ws.store_path) as store:
        assert rows(store, "SELECT status, error FROM playbook_runs") == [
            ("failed", "interrupted (KeyboardInterrupt) before the run ended")
        ]
        assert verify_chain(store).ok


def test_an_invalid_playbook_file_names_file_line_and_field(tmp_path: Path) -> None:
    """An unknown field is a usage error (exit 2) naming the file, the line and the YAML path."""
    text = playbook("p", "{type: manual}", "    - {name: n, type: command, args: ['true'], shell: true}\n")
    workspace(tmp_path, {"bad.yaml": text})
    done = _seclo(tmp_path, "playbook", "list")
    assert done.returncode == 2
    assert "bad.yaml:" in done.stderr
    assert "spec.steps[0].command.shell" in done.stderr
