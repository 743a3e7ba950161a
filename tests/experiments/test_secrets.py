"""Secrets from the environment reach the system under test, and never the journal, the store or the terminal."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from experiment_helpers import LoginServer, new_workspace, seclo_cli, write_experiment

from seclo.experiments.journal import write_journal
from seclo.experiments.variables import Variables
from seclo.store import open_store
from seclo.workspace import Workspace

TOKEN = "tok-7Hq2Zp9Xw"  # noqa: S105 - a made-up secret the test must not find
PASSWORD = "pw-Vb83kLm0s"  # noqa: S105 - a made-up secret the test must not find

EXPERIMENT = """
title: secrets stay secret
secrets:
  login:
    token: {{type: env, key: LOGIN_TOKEN}}
    password: {{type: env, key: LOGIN_PASSWORD}}
fault:
  type: failed_logins
  target: "{url}/login?token=${{token}}"
  parameters: {{count: 2, password: "${{password}}"}}
method:
  - {{type: action, name: echo, provider: {{type: process, path: echo, arguments: ["token=${{token}}"]}}}}
detection:
  deadline: 10s
  poll: {{initial: 5ms, max: 20ms}}
  probe:
    provider: {{type: seclo, probe: http, arguments: {{url: "{url}/stats?token=${{token}}", body_pattern: "failures=[1-9]"}}}}
"""


def everything_written(root: Path) -> str:
    """Every file under the workspace's .seclo folder (journals, state, the store file itself), as text."""
    return "\n".join(p.read_bytes().decode("latin-1") for p in (root / ".seclo").rglob("*") if p.is_file())


def store_rows(root: Path) -> str:
    """Every column of every experiment_runs row, as text."""
    with open_store(Workspace.open(root).store_path, read_only=True) as store:
        return repr(store.conn.execute("SELECT * FROM experiment_runs").fetchall())


def assert_secret_free(*texts: str) -> None:
    """None of the texts holds either secret."""
    for text in texts:
        assert TOKEN not in text
        assert PASSWORD not in text


@pytest.mark.parametrize("accept", [False, True], ids=["refused", "accepted"])
def test_env_secrets_are_used_but_never_journaled_recorded_or_printed(tmp_path: Path, accept: bool) -> None:
    """The endpoint receives the token and password; journal, store, stdout and stderr show *** instead.

    With an endpoint that accepts the wrong password the run aborts with a reason naming the target URL,
    which holds the token: the reason is redacted too.
    """
    server = LoginServer(accept=accept).start()
    try:
        root = new_workspace(tmp_path / "ws")
        write_experiment(root, "secret.yaml", EXPERIMENT.format(url=server.url))
        env = {**os.environ, "LOGIN_TOKEN": TOKEN, "LOGIN_PASSWORD": PASSWORD, "COLUMNS": "400"}
        done: subprocess.CompletedProcess[str] = seclo_cli(
            root, "experiment", "run", "secret", "--format", "json", env=env
        )
        table = seclo_cli(root, "experiment", "run", "secret", env=env)
        listed = seclo_cli(root, "experiment", "list", "--format", "json", env=env)
    finally:
        server.stop()
    assert server.paths == [f"/login?token={TOKEN}"] * 4
    assert {f["password"] for _, f in server.attempts} == {PASSWORD}
    assert done.returncode == (1 if accept else 0), done.stdout + done.stderr
    assert table.returncode == done.returncode, table.stdout + table.stderr
    assert_secret_free(done.stdout, done.stderr, table.stdout, table.stderr, listed.stdout)
    assert_secret_free(everything_written(root), store_rows(root))
    journal = everything_written(root)
    assert "token=***" in journal
    assert '"password": "***"' in journal
    if accept:
        assert "were accepted by" in done.stdout


def test_dry_run_prints_the_plan_without_the_secrets(tmp_path: Path) -> None:
    """--dry-run shows the target and steps with *** where a secret was substituted."""
    root = new_workspace(tmp_path / "ws")
    write_experiment(root, "secret.yaml", EXPERIMENT.format(url="http://127.0.0.1:18099"))
    env = {**os.environ, "LOGIN_TOKEN": TOKEN, "LOGIN_PASSWORD": PASSWORD}
    done = seclo_cli(root, "experiment", "run", "secret", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert_secret_free(done.stdout, done.stderr)
    assert "inject failed_logins into http://127.0.0.1:18099/login?token=***" in done.stdout


def test_a_journal_holds_no_encoded_form_of_a_secret(tmp_path: Path) -> None:
    """A journal that captured a secret as a Basic auth header, base64, URL- and JSON-encoded (a probe's
    request echoed back) shows none of those forms: each is replaced, and the journal stays valid JSON."""
    redactor = Variables({}, {"login": {"token": TOKEN + "é/"}}).redactor()
    secret = TOKEN + "é/"
    basic = base64.b64encode(f"admin:{secret}".encode()).decode()
    journal = {
        "run": [
            {
                "output": {
                    "headers": {"Authorization": f"Basic {basic}"},
                    "body": f"url={quote(secret, safe='')}",
                }
            },
            {"output": f"token={base64.urlsafe_b64encode(secret.encode()).decode()}"},
        ]
    }
    path = tmp_path / "journal.json"
    write_journal(path, journal, redactor)
    text = path.read_text(encoding="utf-8")
    json.loads(text)
    for form in (secret, TOKEN, basic, quote(secret, safe=""), json.dumps(secret)[1:-1]):
        assert form not in text
    assert text.count("***") == 3
