"""seclo.yaml's `serve:` section: where serve and listen find their credentials, and the Host names they answer.

seclo.yaml names a file or an environment variable, never the secret itself; the command-line options win.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from http_client import bearer, post_json, request
from serve_helpers import start_serve

from seclo.cli import main
from seclo.cli.http_access import HttpAccess
from seclo.errors import ConfigError
from seclo.store import open_store
from seclo.workspace import Workspace

SECRET = "s3cr3t-t0ken-value"  # noqa: S105 - a test secret
ALERT = {
    "version": "4",
    "groupKey": "{}",
    "status": "firing",
    "receiver": "seclo",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Burn"},
            "annotations": {},
            "startsAt": "2026-11-23T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "f1",
        }
    ],
}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of the seclo command line."""
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0), capsys.readouterr().err
    return 0, capsys.readouterr().err


def _workspace(root: Path, serve_section: str) -> Path:
    (root / "slos").mkdir(parents=True, exist_ok=True)
    open_store(root / ".seclo" / "store.duckdb").close()
    (root / "seclo.yaml").write_text(
        f"apiVersion: seclo/v1\nkind: Workspace\n{serve_section}", encoding="utf-8"
    )
    return root


@pytest.mark.parametrize(
    ("section", "field"),
    [
        (f"serve:\n  auth:\n    token: {SECRET}\n", "serve.auth.token"),
        (f"serve:\n  auth:\n    password: {SECRET}\n", "serve.auth.password"),
        (f"serve:\n  auth:\n    token_env: {SECRET}\n", "serve.auth.token_env"),
        (f"serve:\n  auth:\n    bearer: {SECRET}\n", "serve.auth.bearer"),
    ],
)
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["playbook", "listen", "--port", "0"]])
def test_a_secret_written_in_seclo_yaml_is_refused_without_showing_it(
    tmp_path: Path, section: str, field: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A token written into seclo.yaml stops serve and listen with exit 2 naming the file, line and field, and
    the error never repeats the secret."""
    root = _workspace(tmp_path, section)
    code, err = _run([*command, "-w", str(root)], capsys)
    assert code == 2, err
    assert f"seclo.yaml:5: {field}" in err
    assert SECRET not in err


def test_the_token_file_named_in_seclo_yaml_protects_the_webhook(tmp_path: Path) -> None:
    """With `serve.auth.token_file` and `allowed_hosts` in seclo.yaml, `seclo serve` refuses a webhook without
    the token (401), takes it with the token, and answers the allowed Host name."""
    root = _workspace(
        tmp_path, "serve:\n  auth:\n    token_file: token.txt\n  allowed_hosts: [seclo.example.org]\n"
    )
    (root / "token.txt").write_text(SECRET + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECLO_SERVE_")}
    served = start_serve(root, env=env)
    try:
        port = int(served.url.rsplit(":", 1)[1])
        assert post_json(port, "/alertmanager", ALERT).status == 401
        accepted = post_json(port, "/alertmanager", ALERT, bearer(SECRET))
        named = request(port, "GET", "/metrics", host="seclo.example.org:9464")
    finally:
        served.stop()
    assert accepted.status == 200, accepted.body
    assert json.loads(accepted.body)["status"] == "accepted"
    assert named.status == 200
    assert SECRET not in served.log.read_text()


def test_a_token_variable_named_in_seclo_yaml_must_be_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve.auth.token_env: PAGER_HOOK_TOKEN` with the variable unset stops serve (exit 2) rather than
    starting it without authentication."""
    root = _workspace(tmp_path, "serve:\n  auth:\n    token_env: PAGER_HOOK_TOKEN\n")
    monkeypatch.delenv("PAGER_HOOK_TOKEN", raising=False)
    code, err = _run(["serve", "--port", "0", "-w", str(root)], capsys)
    assert code == 2, err
    assert "PAGER_HOOK_TOKEN" in err
    assert "not set" in err


def test_command_line_options_override_seclo_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--auth-token-file and --allow-host win over seclo.yaml's token variable and Host names."""
    root = _workspace(tmp_path, "serve:\n  auth:\n    token_env: YAML_TOKEN\n  allowed_hosts: [from.yaml]\n")
    (root / "cli-token.txt").write_text("from-the-command-line", encoding="utf-8")
    ws = Workspace.open(root)
    access = HttpAccess(root / "cli-token.txt", None, ("from.cli",), insecure_no_auth=False)
    credentials = access.credentials(ws)
    assert credentials is not None
    assert credentials.token == b"from-the-command-line"
    assert access.allowed_hosts(ws) == ("from.cli",)
    from_yaml = HttpAccess(None, None, (), insecure_no_auth=False)
    monkeypatch.setenv("YAML_TOKEN", "from-the-environment")
    yaml_credentials = from_yaml.credentials(ws)
    monkeypatch.delenv("YAML_TOKEN")
    assert yaml_credentials is not None
    assert yaml_credentials.token == b"from-the-environment"
    assert from_yaml.allowed_hosts(ws) == ("from.yaml",)
    with pytest.raises(ConfigError, match="YAML_TOKEN"):
        from_yaml.credentials(ws)
