"""Who may reach seclo's HTTP server: credentials from files or the environment, Host names, start-up refusals."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from http_client import bearer, post_json
from serve_helpers import start_serve

from seclo.errors import ConfigError
from seclo.server.auth import Credentials, access_policy, load_credentials


def test_secrets_come_from_files_trimmed_as_prometheus_does(tmp_path: Path) -> None:
    """A token file's trailing newline is not part of the token; a basic auth file holds USER:PASSWORD."""
    (tmp_path / "token").write_text("s3cret\n")
    (tmp_path / "basic").write_text("alertmanager:pa:ss\n")
    credentials = load_credentials(tmp_path / "token", tmp_path / "basic", env={})
    assert credentials == Credentials(b"s3cret", b"alertmanager:pa:ss")
    assert credentials.accepts(b"Bearer s3cret")
    assert credentials.accepts(b"bearer  s3cret ")
    assert credentials.accepts(b"Basic " + base64.b64encode(b"alertmanager:pa:ss"))
    assert not credentials.accepts(b"Bearer s3cret\n".strip() + b"x")
    assert not credentials.accepts(b"Basic " + base64.b64encode(b"alertmanager:pa"))
    assert "s3cret" not in repr(credentials)


def test_secrets_come_from_the_environment_when_no_file_is_given() -> None:
    """SECLO_SERVE_TOKEN and SECLO_SERVE_BASIC_AUTH configure the credentials; none set means none."""
    env = {"SECLO_SERVE_TOKEN": "from-env", "SECLO_SERVE_BASIC_AUTH": "u:p"}
    assert load_credentials(env=env) == Credentials(b"from-env", b"u:p")
    assert load_credentials(env={}) is None


@pytest.mark.parametrize(
    ("token", "basic", "message"),
    [
        ("", None, "must hold one token"),
        ("two words", None, "must hold one token"),
        (None, "no-colon", "USER:PASSWORD"),
        (None, ":nouser", "USER:PASSWORD"),
    ],
)
def test_unusable_secret_files_are_a_config_error(
    tmp_path: Path, token: str | None, basic: str | None, message: str
) -> None:
    """An empty token, a token with a space, or a basic auth file without USER:PASSWORD names the file."""
    token_file = basic_file = None
    if token is not None:
        token_file = tmp_path / "token"
        token_file.write_text(token)
    if basic is not None:
        basic_file = tmp_path / "basic"
        basic_file.write_text(basic)
    with pytest.raises(ConfigError, match=message) as caught:
        load_credentials(token_file, basic_file, env={})
    assert str(tmp_path) in str(caught.value)


def test_host_names_follow_the_bound_address() -> None:
    """Loopback answers its names, a specific address only itself, a wildcard any name unless a list is given."""
    credentials = Credentials(token=b"t")
    loopback = access_policy("127.0.0.1", None)
    assert loopback.host_allowed(b"localhost:9464")
    assert loopback.host_allowed(b"[::1]:9464")
    assert not loopback.host_allowed(b"rebound.example:9464")
    assert not loopback.host_allowed(None)
    specific = access_policy("192.0.2.7", credentials, allowed_hosts=["seclo.internal"])
    assert specific.host_allowed(b"192.0.2.7:9464")
    assert specific.host_allowed(b"seclo.internal")
    assert not specific.host_allowed(b"localhost:9464")
    assert access_policy("0.0.0.0", credentials).host_allowed(b"anything.example")  # noqa: S104
    listed = access_policy("::", credentials, allowed_hosts=["seclo.internal"])
    assert listed.host_allowed(b"seclo.internal:9464")
    assert not listed.host_allowed(b"other.example")


def test_reads_need_credentials_only_beyond_loopback() -> None:
    """On loopback GET /metrics stays open and POST needs the token; beyond it every request needs it."""
    credentials = Credentials(token=b"t")
    loopback = access_policy("127.0.0.1", credentials)
    assert (loopback.needs_credentials("GET"), loopback.needs_credentials("POST")) == (False, True)
    beyond = access_policy("0.0.0.0", credentials)  # noqa: S104
    assert (beyond.needs_credentials("GET"), beyond.needs_credentials("POST")) == (True, True)
    waived = access_policy("0.0.0.0", None, insecure_no_auth=True)  # noqa: S104
    assert (waived.needs_credentials("GET"), waived.needs_credentials("POST")) == (False, False)


def _seclo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seclo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("command", [["serve"], ["playbook", "listen"]])
def test_start_beyond_loopback_without_authentication_is_refused(tmp_path: Path, command: list[str]) -> None:
    """`--host 0.0.0.0` without a token or basic auth exits 2 with the reason and a Tip, before listening."""
    clean = dict.fromkeys(("SECLO_SERVE_TOKEN", "SECLO_SERVE_BASIC_AUTH"), "")
    done = _seclo(*command, "--host", "0.0.0.0", "--port", "0", "-w", str(tmp_path), env=clean)  # noqa: S104
    assert done.returncode == 2, done.stderr
    assert "refusing to listen on 0.0.0.0 without authentication" in done.stderr
    assert "Tip:" in done.stderr
    assert "--insecure-no-auth" in done.stderr
    assert "listening on" not in done.stdout + done.stderr


def test_an_empty_token_file_stops_serve_with_the_file_named(tmp_path: Path) -> None:
    """`seclo serve --auth-token-file` on an empty file exits 2 naming the file."""
    empty = tmp_path / "token"
    empty.write_text("\n")
    done = _seclo("serve", "--port", "0", "--auth-token-file", str(empty), "-w", str(tmp_path))
    assert done.returncode == 2
    assert f"the token file {empty} must hold one token" in done.stderr


def test_serve_takes_its_token_from_the_environment(tmp_path: Path) -> None:
    """`SECLO_SERVE_TOKEN=... seclo serve`: a webhook without the token gets 401, with it 200."""
    (tmp_path / "slos").mkdir()
    serve = start_serve(tmp_path, env={"SECLO_SERVE_TOKEN": "env-token"})
    try:
        port = int(serve.url.rsplit(":", 1)[1])
        document = {"version": "4", "groupKey": "{}", "status": "firing", "receiver": "r", "alerts": []}
        assert post_json(port, "/alertmanager", document).status == 401
        assert post_json(port, "/alertmanager", document, bearer("env-token")).status == 200
    finally:
        serve.stop()
    assert serve.process.returncode == 0
