"""The real Alertmanager posts to `seclo serve` with the credentials its webhook_config http_config sends.

Alertmanager 0.25 (Debian's prometheus-alertmanager) routes one alert to a receiver with a bearer token from a
credentials_file and another to a receiver with basic auth from a password_file; seclo accepts both and
journals them. A third receiver with no credentials is refused, so its alert never reaches the journal.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from serve_helpers import free_port, http, wait_for

from seclo.server import SecloServer, serve
from seclo.server.auth import Credentials
from seclo.store import open_store
from seclo.workspace import Workspace

TOKEN = "am-bearer-token"  # noqa: S105 - a test secret
USER, PASSWORD = "alertmanager", "am-password"

CONFIG = """\
route:
  receiver: bearer
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - {{matchers: ['via="basic"'], receiver: basic}}
    - {{matchers: ['via="none"'], receiver: none}}
receivers:
  - name: bearer
    webhook_configs:
      - url: {url}/alertmanager
        http_config:
          authorization: {{type: Bearer, credentials_file: {token_file}}}
  - name: basic
    webhook_configs:
      - url: {url}/alertmanager
        http_config:
          basic_auth: {{username: {user}, password_file: {password_file}}}
  - name: none
    webhook_configs:
      - url: {url}/alertmanager
"""


@pytest.fixture
def seclo(tmp_path: Path) -> Iterator[SecloServer]:
    """`seclo serve` in this process on 127.0.0.1, asking for the token or basic auth."""
    root = tmp_path / "ws"
    (root / "slos").mkdir(parents=True)
    open_store(root / ".seclo" / "store.duckdb").close()
    credentials = Credentials(TOKEN.encode(), f"{USER}:{PASSWORD}".encode())
    server = serve(Workspace.open(root), "127.0.0.1", 0, timedelta(hours=1), credentials=credentials).start()
    try:
        yield server
    finally:
        server.close()


def _journaled(server: SecloServer) -> list[str]:
    """The alertnames of the journaled payloads."""
    path = server.inbox.journal
    lines = path.read_text().splitlines() if path.exists() else []
    return sorted(a["labels"]["alertname"] for line in lines for a in json.loads(line)["payload"]["alerts"])


def test_alertmanager_bearer_and_basic_auth_are_accepted_and_no_auth_is_refused(
    tmp_path: Path, seclo: SecloServer
) -> None:
    """Alerts routed to the bearer and basic-auth receivers are journaled; the one without credentials is not."""
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        CONFIG.format(
            url=seclo.url,
            token_file=tmp_path / "token",
            user=USER,
            password_file=tmp_path / "password",
        )
    )
    port = free_port()
    with (tmp_path / "alertmanager.log").open("w") as log:
        alertmanager = subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("Alertmanager to be ready", lambda: http(url + "/-/ready")[0] == 200)
        alerts = [
            {"labels": {"alertname": f"Via{via.title()}", "via": via, "severity": "page"}}
            for via in ("bearer", "basic", "none")
        ]
        status, _, body = http(
            url + "/api/v2/alerts", json.dumps(alerts).encode(), {"Content-Type": "application/json"}
        )
        assert status == 200, body
        wait_for("both authenticated notifications", lambda: _journaled(seclo) == ["ViaBasic", "ViaBearer"])
        # The receiver without credentials is refused: Alertmanager gives up on it and logs seclo's reason.
        refused = "none/webhook[0]: notify retry canceled due to unrecoverable error after 1 attempts: unexpected status code 401"
        wait_for(
            "the refusal in Alertmanager's log",
            lambda: refused in (tmp_path / "alertmanager.log").read_text(),
        )
        assert "authentication required" in (tmp_path / "alertmanager.log").read_text()
    finally:
        alertmanager.terminate()
        alertmanager.wait(timeout=30)
    assert _journaled(seclo) == ["ViaBasic", "ViaBearer"]
