"""Built-in probes against real ports, HTTP servers, files, the store, Prometheus, Alertmanager and processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiment_helpers import (
    LoginServer,
    free_port,
    journal_of,
    new_workspace,
    port_is_open,
    post_alert,
    run_experiment,
    start_alertmanager,
    start_prometheus,
    wait_for,
    write_experiment,
)
from sink import redirecting, running_sink

from seclo.experiments.context import RunContext
from seclo.experiments.probes.http import fetch
from seclo.experiments.probes.interface import Observation
from seclo.experiments.registry import get_probe
from seclo.store import open_store


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A new workspace."""
    return new_workspace(tmp_path / "ws")


@pytest.fixture
def login() -> Iterator[LoginServer]:
    """A login endpoint that refuses every login."""
    server = LoginServer().start()
    try:
        yield server
    finally:
        server.stop()


def check(root: Path, probe: str, arguments: dict[str, Any], baseline: object = None) -> Observation:
    """One check of a built-in probe in the workspace."""
    context = RunContext(root, root / ".seclo" / "store.duckdb", root / ".seclo" / "state")
    found = get_probe(probe)
    return found.check(found.params.model_validate(arguments), baseline, context)


def watched(probe: str, arguments: str, deadline: str = "10s") -> str:
    """A `detection` block polling a seclo probe."""
    return f"""detection:
  deadline: {deadline}
  poll: {{initial: 5ms, max: 50ms}}
  probe:
    provider: {{type: seclo, probe: {probe}, arguments: {arguments}}}
"""


# tcp_port


def test_tcp_port_sees_the_injected_listener_open_and_a_free_port_closed(root: Path) -> None:
    """Detection `expect: open` sees the listener; a steady state `expect: closed` holds on a free port."""
    port, other = free_port(), free_port()
    write_experiment(
        root,
        "port.yaml",
        f"""
title: port opened
steady-state-hypothesis:
  title: the other port stays closed
  probes:
    - {{type: probe, name: closed, provider: {{type: seclo, probe: tcp_port, arguments: {{port: {other}, expect: closed}}}}}}
fault: {{type: listening_port, target: "127.0.0.1:{port}"}}
{watched("tcp_port", f"{{port: {port}}}")}
""",
    )
    result = run_experiment(root, "port.yaml")
    assert result.verdict == "passed", result.reason
    journal = journal_of(result)
    assert journal["detection"]["last"]["detail"] == f"127.0.0.1:{port} is open"
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    assert not port_is_open(port)


def test_tcp_port_expecting_closed_misses_an_open_port(root: Path) -> None:
    """Watching for `closed` while the injected listener is open ends in detection_missed."""
    port = free_port()
    write_experiment(
        root,
        "port.yaml",
        f"""
title: port expected closed
fault: {{type: listening_port, target: "127.0.0.1:{port}"}}
{watched("tcp_port", f"{{port: {port}, expect: closed}}", deadline="300ms")}
""",
    )
    result = run_experiment(root, "port.yaml")
    assert result.verdict == "detection_missed", result.reason
    assert journal_of(result)["detection"]["last"]["detail"] == f"127.0.0.1:{port} is open"
    assert not port_is_open(port)


# http


def test_http_probe_judges_status_and_body(root: Path, login: LoginServer) -> None:
    """2xx by default, a listed status, a body pattern; an unreachable URL is not ok, with the reason."""
    stats = f"{login.url}/stats"
    assert check(root, "http", {"url": stats}).ok
    assert check(root, "http", {"url": stats, "body_pattern": "^failures=0$"}).ok
    assert not check(root, "http", {"url": stats, "body_pattern": "failures=[1-9]"}).ok
    missing = check(root, "http", {"url": f"{login.url}/nope"})
    assert (missing.ok, missing.value) == (False, 404)
    assert check(root, "http", {"url": f"{login.url}/nope", "status": [404, 410]}).ok
    assert not check(root, "http", {"url": stats, "status": 404}).ok
    down = check(root, "http", {"url": f"http://127.0.0.1:{free_port()}/"})
    assert not down.ok
    assert "cannot connect" in down.detail


def test_http_probe_detects_the_endpoint_counting_this_burst(root: Path, login: LoginServer) -> None:
    """Polled as detection, the http probe passes once the login endpoint reports the failures."""
    arguments = f'{{url: "{login.url}/stats", status: 200, body_pattern: "failures=5"}}'
    write_experiment(
        root,
        "burst.yaml",
        f"""
title: burst seen by the endpoint
fault: {{type: failed_logins, target: "{login.url}/login", parameters: {{count: 5}}}}
{watched("http", arguments)}
""",
    )
    result = run_experiment(root, "burst.yaml")
    assert result.verdict == "passed", result.reason
    assert journal_of(result)["detection"]["last"]["detail"] == f"{login.url}/stats answered 200"


# log_line

OLD = (
    "Jan  1 00:00:00 host sshd[1]: Failed password for invalid user old-attacker from 10.0.0.9 port 1 ssh2\n"
)


def test_log_line_matches_only_lines_written_after_the_injection(root: Path) -> None:
    """A matching line already in the log is not a detection; the injected lines are."""
    log = root / "var" / "auth.log"
    log.parent.mkdir()
    log.write_text(OLD)
    for name, pattern, verdict in (
        ("old.yaml", "old-attacker", "detection_missed"),
        ("new.yaml", "invalid user ${injection.user} from", "passed"),
    ):
        write_experiment(
            root,
            name,
            f"""
title: {name}
fault: {{type: failed_logins, target: var/auth.log, parameters: {{count: 2}}}}
{watched("log_line", f'{{path: var/auth.log, pattern: "{pattern}"}}', deadline="300ms")}
""",
        )
        result = run_experiment(root, name)
        assert result.verdict == verdict, result.reason
    assert log.read_text().startswith(OLD)


def test_log_line_reads_a_rotated_or_truncated_file_from_its_start(root: Path) -> None:
    """After rotation (a new file) or truncation, a match anywhere in the new content counts."""
    log = root / "app.log"
    log.write_text("x" * 500 + "\n")
    probe = get_probe("log_line")
    arguments = {"path": "app.log", "pattern": "ALERT"}
    context = RunContext(root, root / "store.duckdb", root / "state")
    baseline = probe.baseline(probe.params.model_validate(arguments), context)
    assert not check(root, "log_line", arguments, baseline).ok
    log.write_text("ALERT short\n")  # truncated and rewritten, shorter than before
    seen = check(root, "log_line", arguments, baseline)
    assert (seen.ok, seen.value) == (True, "ALERT short")
    log.rename(root / "app.log.1")
    assert not check(root, "log_line", arguments, baseline).ok
    log.write_text("ALERT rotated\n")
    assert check(root, "log_line", arguments, baseline).value == "ALERT rotated"


# store_query


def test_store_query_finds_the_injected_account_and_not_after_rollback(root: Path) -> None:
    """A store query for the injected account detects it; after rollback the same query finds no rows."""
    store_path = root / ".seclo" / "store.duckdb"
    with open_store(store_path) as store:
        store.conn.execute(
            "INSERT INTO accounts (snapshot_time, account_id, user, mfa_enabled) "
            "VALUES ('2026-01-01', 'a1', 'alice', true)"
        )
    sql = "SELECT account_id FROM accounts WHERE account_id = '${injection.id}' AND NOT mfa_enabled"
    write_experiment(
        root,
        "account.yaml",
        f"""
title: account without MFA
fault: {{type: inventory_account, target: store, parameters: {{user: "${{injection.id}}"}}}}
{watched("store_query", f'{{sql: "{sql}"}}')}
""",
    )
    result = run_experiment(root, "account.yaml")
    assert result.verdict == "passed", result.reason
    assert journal_of(result)["detection"]["last"]["output"] is True
    query = sql.replace("${injection.id}", result.run_id)
    assert check(root, "store_query", {"sql": query, "expect": "no_rows"}).ok
    assert not check(root, "store_query", {"sql": query}).ok
    assert check(root, "store_query", {"sql": "SELECT * FROM accounts WHERE user = 'alice'"}).ok
    broken = check(root, "store_query", {"sql": "SELECT * FROM no_such_table"})
    assert not broken.ok
    assert "store query failed" in broken.detail


# prometheus_query and alertmanager_alert


@pytest.mark.slow
def test_prometheus_query_detects_the_burst_in_the_real_prometheus(
    root: Path, tmp_path: Path, login: LoginServer
) -> None:
    """Prometheus scrapes the login endpoint; the query sees the burst's failures after the injection."""
    host_port = login.url.removeprefix("http://")
    prometheus = start_prometheus(tmp_path / "prometheus", host_port)
    try:
        url = prometheus.url
        # Before the run the endpoint counts no failures, so the query returns nothing.
        query = "login_failures_total >= 6"
        assert check(root, "prometheus_query", {"url": url, "query": query, "expect": "none"}).ok
        write_experiment(
            root,
            "prom.yaml",
            f"""
title: burst in Prometheus
fault: {{type: failed_logins, target: "{login.url}/login", parameters: {{count: 6}}}}
{watched("prometheus_query", f'{{url: "{url}", query: "{query}"}}', deadline="60s")}
""",
        )
        result = run_experiment(root, "prom.yaml")
        assert result.verdict == "passed", result.reason
        assert journal_of(result)["detection"]["last"]["detail"] == f"{query!r} returned 1 series"
        assert not check(root, "prometheus_query", {"url": url, "query": query, "expect": "none"}).ok
        assert not check(root, "prometheus_query", {"url": url, "query": "absent_metric_xyz"}).ok
        scalar = check(root, "prometheus_query", {"url": url, "query": "scalar(vector(7))"})
        assert (scalar.ok, scalar.detail) == (True, "'scalar(vector(7))' returned the scalar 7")
        bad = check(root, "prometheus_query", {"url": url, "query": "sum("})
        assert not bad.ok
        assert "answered 400" in bad.detail
    finally:
        prometheus.stop()
    gone = check(root, "prometheus_query", {"url": url, "query": "up"})
    assert not gone.ok
    assert "cannot connect" in gone.detail


@pytest.mark.slow
def test_alertmanager_alert_detects_the_alert_a_detector_raised_for_this_injection(
    root: Path, tmp_path: Path
) -> None:
    """A detector posts BruteForce{user} to the real Alertmanager; the probe sees it for this user only."""
    alertmanager = start_alertmanager(tmp_path / "alertmanager")

    def detector(user: str, failures: int) -> None:
        if failures == 4:
            post_alert(alertmanager.url, {"alertname": "BruteForce", "user": user, "severity": "page"})

    login = LoginServer(on_failure=detector).start()
    try:
        am = alertmanager.url
        write_experiment(
            root,
            "am.yaml",
            f"""
title: brute force raises an alert
fault: {{type: failed_logins, target: "{login.url}/login", parameters: {{count: 4}}}}
{watched("alertmanager_alert", f'{{url: "{am}", alertname: BruteForce, labels: {{user: "${{injection.user}}"}}}}', deadline="30s")}
""",
        )
        result = run_experiment(root, "am.yaml")
        assert result.verdict == "passed", result.reason
        user = f"chaos-{result.run_id}"
        assert check(
            root, "alertmanager_alert", {"url": am, "alertname": "BruteForce", "labels": {"user": user}}
        ).ok
        for other in ({"user": "someone-else"}, {"user": user, "severity": "ticket"}):
            assert not check(
                root, "alertmanager_alert", {"url": am, "alertname": "BruteForce", "labels": other}
            ).ok
        assert not check(root, "alertmanager_alert", {"url": am, "alertname": "PortOpened"}).ok
        odd = {"user": 'o"brien\\x', "path": "/etc/{a,b}"}  # quotes, backslashes, braces in label values
        post_alert(am, {"alertname": "BruteForce", **odd})
        wanted = {"url": am, "alertname": "BruteForce", "labels": odd}
        wait_for(lambda: check(root, "alertmanager_alert", wanted).ok, "the alert with odd label values")
    finally:
        login.stop()
        alertmanager.stop()


# process


def test_process_probe_judges_the_exit_code_of_a_command_run_in_the_workspace(root: Path) -> None:
    """grep over the workspace's auth log detects the burst; an expected non-zero code and a missing command."""
    (root / "var").mkdir()
    write_experiment(
        root,
        "grep.yaml",
        f"""
title: grep finds the burst
fault: {{type: failed_logins, target: var/auth.log, parameters: {{count: 2}}}}
{watched("process", '{command: [grep, -q, "invalid user ${injection.user} ", var/auth.log]}')}
""",
    )
    result = run_experiment(root, "grep.yaml")
    assert result.verdict == "passed", result.reason
    assert journal_of(result)["detection"]["last"]["detail"] == "grep exited 0"
    absent = ["grep", "-q", "nobody-at-all", "var/auth.log"]
    assert check(root, "process", {"command": absent, "exit_code": 1}).ok
    assert not check(root, "process", {"command": absent}).ok
    code = check(root, "process", {"command": [sys.executable, "-c", "raise SystemExit(3)"], "exit_code": 3})
    assert (code.ok, code.value) == (True, 3)
    missing = check(root, "process", {"command": [str(root / "no-such-program")]})
    assert not missing.ok
    assert "cannot be run" in missing.detail
    slow = check(root, "process", {"command": ["sleep", "5"], "timeout": "100ms"})
    assert not slow.ok
    assert "did not finish" in slow.detail


def test_http_checks_of_a_port_that_does_not_speak_http_are_failed_checks(root: Path) -> None:
    """A banner instead of HTTP fails the seclo http probe and Chaos Toolkit's http probe, and the run ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    write_experiment(
        root,
        "banner.yaml",
        f"""
title: http against a banner
fault: {{type: listening_port, target: "127.0.0.1:{port}"}}
method:
  - {{type: probe, name: ctk-http, provider: {{type: http, url: "{url}", timeout: 2}}}}
{watched("http", f'{{url: "{url}"}}', deadline="300ms")}
""",
    )
    result = run_experiment(root, "banner.yaml")
    assert result.verdict == "detection_missed", result.reason
    journal = journal_of(result)
    assert journal["detection"]["last"]["detail"].startswith(f"{url}: not an HTTP answer")
    [ctk] = journal["run"]
    assert ctk["status"] == "failed"
    assert ctk["exception"][0].startswith(f"ActivityFailed: {url} did not answer HTTP")
    assert not port_is_open(port)


def test_http_probe_follows_a_redirect_without_taking_its_token_to_another_origin() -> None:
    """The http probe follows a redirect to another origin (as Chaos Toolkit does) but sends it none of the
    headers that carry credentials: the token stays with the host the experiment named."""
    with running_sink() as sink, redirecting(sink.url("/elsewhere")) as port:
        status, _ = fetch(
            f"http://127.0.0.1:{port}/health",
            headers={"Authorization": "Bearer tok-8812", "X-Api-Key": "tok-8812", "Accept": "text/plain"},
        )
    assert status == 200
    [request] = sink.requests
    sent = {k.lower(): v for k, v in request["headers"].items()}  # type: ignore[attr-defined]
    assert request["path"] == "/elsewhere"
    assert "tok-8812" not in str(sent)
    assert sent["accept"] == "text/plain"
