"""`failed_logins` for real: a burst of POSTs against a login endpoint on 127.0.0.1, and lines in an auth log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from experiment_helpers import (
    LoginServer,
    free_port,
    journal_of,
    new_workspace,
    run_experiment,
    write_experiment,
)

from seclo.store import open_store
from seclo.workspace import Workspace


@pytest.fixture
def login() -> Iterator[LoginServer]:
    """A login endpoint that refuses every login."""
    server = LoginServer().start()
    try:
        yield server
    finally:
        server.stop()


def burst(url: str, parameters: str = "{count: 7}", detection: str = "") -> str:
    """An experiment sending failed logins to `url`."""
    return f"""
title: brute force over HTTP
fault:
  type: failed_logins
  target: "{url}"
  technique: T1110.001
  parameters: {parameters}
{detection}
"""


def test_every_attempt_reaches_the_endpoint_with_this_injections_user_and_a_wrong_password(
    tmp_path: Path, login: LoginServer
) -> None:
    """The endpoint receives exactly `count` form POSTs for chaos-<run id>, and an http probe sees them."""
    root = new_workspace(tmp_path / "ws")
    detection = f"""detection:
  deadline: 10s
  poll: {{initial: 5ms, max: 20ms}}
  probe:
    provider: {{type: seclo, probe: http, arguments: {{url: "{login.url}/stats", body_pattern: "failures=7\\n"}}}}
"""
    write_experiment(root, "burst.yaml", burst(f"{login.url}/login", detection=detection))
    result = run_experiment(root, "burst.yaml")
    assert result.verdict == "passed", result.reason
    assert len(login.attempts) == 7
    run_id = result.run_id
    assert {(kind, f["username"], f["password"]) for kind, f in login.attempts} == {
        ("application/x-www-form-urlencoded", f"chaos-{run_id}", f"wrong-{run_id}")
    }
    journal = journal_of(result)
    assert journal["injection"]["details"] == {
        "user": f"chaos-{run_id}",
        "source_ip": "127.0.0.1",
        "count": "7",
    }
    with open_store(Workspace.open(root).store_path, read_only=True) as store:
        rows = store.conn.execute("SELECT fault, technique, outcome FROM experiment_runs").fetchall()
    assert rows == [("failed_logins", "T1110.001", "passed")]


def test_json_logins_use_the_field_names_and_user_given(tmp_path: Path, login: LoginServer) -> None:
    """With `encoding: json` the body is JSON with the configured field names."""
    root = new_workspace(tmp_path / "ws")
    parameters = "{count: 3, encoding: json, user: mallory, user_field: login, password_field: secret}"
    write_experiment(root, "json.yaml", burst(f"{login.url}/login", parameters))
    result = run_experiment(root, "json.yaml")
    assert result.verdict == "passed", result.reason
    assert (
        login.attempts == [("application/json", {"login": "mallory", "secret": f"wrong-{result.run_id}"})] * 3
    )


def test_an_endpoint_that_accepts_wrong_passwords_aborts_the_run(tmp_path: Path) -> None:
    """A login endpoint answering 200 to a wrong password is reported: verdict aborted, with the reason."""
    server = LoginServer(accept=True).start()
    try:
        root = new_workspace(tmp_path / "ws")
        write_experiment(root, "open.yaml", burst(f"{server.url}/login", "{count: 4}"))
        result = run_experiment(root, "open.yaml")
    finally:
        server.stop()
    assert result.verdict == "aborted"
    assert "4 of 4 logins with a wrong password were accepted" in result.reason
    assert journal_of(result)["timings"]["rolled_back_at"] is not None


def test_an_unreachable_endpoint_aborts_the_run_naming_it(tmp_path: Path) -> None:
    """Nothing listening at the login URL: verdict aborted, and the reason names the endpoint."""
    root = new_workspace(tmp_path / "ws")
    url = f"http://127.0.0.1:{free_port()}/login"
    write_experiment(root, "down.yaml", burst(url))
    result = run_experiment(root, "down.yaml")
    assert result.verdict == "aborted"
    assert f"cannot reach the login endpoint {url}" in result.reason


def test_log_burst_appends_openssh_lines_after_what_was_there(tmp_path: Path) -> None:
    """Into an auth log, the run appends `count` sshd lines for its user and keeps the earlier lines."""
    root = new_workspace(tmp_path / "ws")
    log = root / "var" / "auth.log"
    log.parent.mkdir()
    log.write_text("Jan  1 00:00:00 host sshd[1]: Accepted publickey for alice from 10.0.0.1 port 22 ssh2\n")
    write_experiment(root, "log.yaml", burst("var/auth.log", "{count: 5, source_ip: 203.0.113.9}"))
    result = run_experiment(root, "log.yaml")
    assert result.verdict == "passed", result.reason
    lines = log.read_text().splitlines()
    assert lines[0].endswith("Accepted publickey for alice from 10.0.0.1 port 22 ssh2")
    assert len(lines) == 6
    assert all(
        "sshd[" in line
        and f"Failed password for invalid user chaos-{result.run_id} from 203.0.113.9 port " in line
        for line in lines[1:]
    )


def test_an_auth_log_in_a_missing_folder_aborts_the_run_naming_the_log(tmp_path: Path) -> None:
    """The log's folder does not exist: verdict aborted, and the reason says which log cannot be written."""
    root = new_workspace(tmp_path / "ws")
    write_experiment(root, "nolog.yaml", burst("nowhere/auth.log"))
    result = run_experiment(root, "nolog.yaml")
    assert result.verdict == "aborted"
    assert (
        result.reason
        == f"cannot write the auth log {root.resolve() / 'nowhere' / 'auth.log'}: No such file or directory"
    )
    assert not (root / "nowhere").exists()


def test_a_login_form_redirecting_failures_back_to_itself_is_not_taken_for_acceptance(tmp_path: Path) -> None:
    """A 302 back to the form (how many login pages refuse) is a failed login: the run passes, nothing followed."""
    server = LoginServer(redirect=True).start()
    try:
        root = new_workspace(tmp_path / "ws")
        write_experiment(root, "form.yaml", burst(f"{server.url}/login", "{count: 3}"))
        result = run_experiment(root, "form.yaml")
    finally:
        server.stop()
    assert result.verdict == "passed", result.reason
    assert len(server.attempts) == 3
