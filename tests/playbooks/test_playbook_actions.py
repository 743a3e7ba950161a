"""Actions against real components: redirects between two HTTP servers on 127.0.0.1, secrets cut by truncation,
and a command whose shell leaves a child behind."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from playbook_helpers import playbook, rows, runner, workspace
from sink import Sink, redirecting, running_sink

from seclo.store import Store

SECRET = "Zq9-secret-value-7731"  # noqa: S105 - a made-up secret the tests hunt for


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A running HTTP sink on 127.0.0.1 (the redirect target: another origin)."""
    with running_sink() as server:
        yield server


def _auth_step(url: str, *, method: str = "POST", follow: bool = False) -> str:
    flag = ", follow_redirects: true" if follow else ""
    return (
        f"    - {{name: page, type: http, method: {method}, url: '{url}', retries: 0{flag}, "
        "headers: {Authorization: 'Bearer {{ secrets.API_TOKEN }}', X-Api-Key: '{{ secrets.API_TOKEN }}'}}\n"
    )


def test_a_redirect_is_not_followed_and_fails_the_step(tmp_path: Path, store: Store, sink: Sink) -> None:
    """A POST answered with 302 is a failed step (it was not delivered), and the redirect target gets nothing."""
    with redirecting(sink.url("/stolen")) as port:
        steps = _auth_step(f"http://127.0.0.1:{port}/page")
        ws = workspace(
            tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps, extra="  secrets: [API_TOKEN]\n")}
        )
        engine = runner(ws, store, env={"API_TOKEN": SECRET})
        [outcome] = engine.run("p")
        engine.close()
    assert outcome.status == "failed"
    assert "302" in outcome.steps[0].summary
    assert sink.requests == []
    assert rows(store, "SELECT status FROM playbook_runs") == [("failed",)]


def test_a_followed_redirect_to_another_origin_carries_no_credentials(
    tmp_path: Path, store: Store, sink: Sink
) -> None:
    """With follow_redirects, the GET reaches the other origin without the Authorization header or any other
    header the step set, and the step succeeds on its 2xx."""
    with redirecting(sink.url("/landing")) as port:
        steps = _auth_step(f"http://127.0.0.1:{port}/page", method="GET", follow=True)
        ws = workspace(
            tmp_path, {"p.yaml": playbook("p", "{type: manual}", steps, extra="  secrets: [API_TOKEN]\n")}
        )
        engine = runner(ws, store, env={"API_TOKEN": SECRET})
        [outcome] = engine.run("p")
        engine.close()
    assert outcome.status == "succeeded"
    [request] = sink.requests
    assert request["path"] == "/landing"
    sent = {k.lower(): v for k, v in request["headers"].items()}  # type: ignore[attr-defined]
    assert "authorization" not in sent
    assert "x-api-key" not in sent
    assert SECRET not in str(sent)


def test_a_secret_cut_by_truncation_leaves_no_part_of_itself(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A command that prints the secret where its failure message is cut (300 characters), and as a Basic auth
    header: neither the audit trail, the run's error and context nor the log holds any 10-character piece of the
    secret or the header's base64."""
    basic = base64.b64encode(f"admin:{SECRET}".encode()).decode()
    ws = workspace(
        tmp_path,
        {
            "p.yaml": playbook(
                "p",
                "{type: manual}",
                "    - {name: leak, type: command, args: [sh, leak.sh]}\n",
                extra="  secrets: [API_TOKEN]\n",
            )
        },
    )
    (ws.root / "leak.sh").write_text(f"printf '%s' '{'x' * 290}{SECRET} Basic {basic}' >&2\nexit 3\n")
    caplog.set_level(logging.INFO, logger="seclo.playbooks")
    engine = runner(ws, store, env={"API_TOKEN": SECRET})
    [outcome] = engine.run("p")
    engine.close()
    assert outcome.status == "failed"
    recorded = " ".join(
        str(v)
        for query in (
            "SELECT detail FROM playbook_audit",
            "SELECT error FROM playbook_runs",
            "SELECT context FROM playbook_runs",
        )
        for row in rows(store, query)
        for v in row
    )
    recorded += caplog.text
    assert "[secret API_TOKEN]" in recorded
    for text in (SECRET, basic):
        for i in range(len(text) - 9):
            assert text[i : i + 10] not in recorded


def test_a_timed_out_command_is_killed_with_its_children(tmp_path: Path, store: Store) -> None:
    """A shell that starts a background child and hangs is stopped at the step's timeout together with the child:
    the child's pid, written before the timeout, is no longer running afterwards."""
    pid_file = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {pid_file}; wait"
    steps = f"    - {{name: hang, type: command, timeout: 1s, args: [sh, -c, '{script}']}}\n"
    ws = workspace(tmp_path / "ws", {"p.yaml": playbook("p", "{type: manual}", steps)})
    engine = runner(ws, store)
    [outcome] = engine.run("p")
    engine.close()
    assert outcome.status == "failed"
    assert "did not finish" in outcome.steps[0].summary
    child = int(pid_file.read_text())
    assert _state(child) in {"", "Z"}  # gone, or dead and waiting for init to reap it


def _state(pid: int) -> str:
    """The process's state letter from /proc (Z: a zombie, dead and waiting to be reaped; empty: gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return ""
