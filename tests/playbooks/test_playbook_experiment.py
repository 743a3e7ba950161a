"""A failed experiment triggers the example playbook that re-runs it after approval, end to end in real processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playbook_helpers import rows

from seclo.experiments import VERDICTS
from seclo.playbooks.model import ExperimentTrigger
from seclo.store import open_store
from seclo.workspace import Workspace, init_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "playbooks"

# A listener nobody watches: the detection probe waits for a line that never comes, so detection is missed.
GAP = """\
apiVersion: seclo/v1
kind: Experiment
title: An unwatched port is detected
description: A listener on a loopback port that no detector watches.
fault: {{type: listening_port, target: "127.0.0.1:{port}"}}
detection:
  deadline: 200ms
  poll: {{initial: 5ms, max: 20ms}}
  probe:
    name: alert line
    provider:
      type: seclo
      probe: log_line
      arguments: {{path: alerts.log, pattern: "ALERT port={port}"}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _port_watcher(port: int, log: Path) -> Iterator[None]:
    """The fix: a detector that writes an alert line when something listens on `port`."""
    stop = threading.Event()

    def watch() -> None:
        raised = False
        while not stop.wait(0.005):
            with socket.socket() as sock:
                sock.settimeout(0.05)
                listening = sock.connect_ex(("127.0.0.1", port)) == 0
            if listening and not raised:
                with log.open("a") as out:
                    out.write(f"ALERT port={port}\n")
            raised = listening

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _seclo(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Experiments run on the real clock, so the playbook that reacts to them judges at the real now too: with
    # $SECLO_NOW pinned (tests/conftest.py) the run would lie in the future of `playbook evaluate`. Only
    # differences of real times are compared, so the hour of the run does not matter.
    env = {k: v for k, v in os.environ.items() if k != "SECLO_NOW"}
    return subprocess.run(
        [sys.executable, "-m", "seclo", *args, "--workspace", str(ws)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _runs(ws: Path) -> list[tuple[str, str]]:
    with open_store(Workspace.open(ws).store_path, read_only=True) as store:
        return [(str(a), str(b)) for a, b in rows(store, "SELECT experiment, outcome FROM experiment_runs")]


def test_missed_detection_reruns_the_experiment_after_approval(tmp_path: Path) -> None:
    """detection_missed fires the example rerun-experiment playbook; once the fix (a watcher) is in and the run is
    approved, its experiment step runs `seclo experiment run` for that experiment: passed, and both runs are in the
    store although the playbook held it while the experiment ran."""
    init_workspace(tmp_path)
    port = _free_port()
    alerts = tmp_path / "alerts.log"
    alerts.write_text("")
    (tmp_path / "experiments" / "port-gap.yaml").write_text(GAP.format(port=port))
    shutil.copy(EXAMPLES / "rerun-experiment.yaml", tmp_path / "playbooks" / "rerun-experiment.yaml")
    title = "An unwatched port is detected"

    first = _seclo(tmp_path, "experiment", "run", "port-gap")
    assert first.returncode == 1, first.stderr
    assert _runs(tmp_path) == [(title, "detection_missed")]

    waiting = _seclo(tmp_path, "playbook", "evaluate")
    assert waiting.returncode == 0, waiting.stderr
    assert "rerun-experiment" in waiting.stdout
    run_id = waiting.stdout.split(" run ")[1].split()[0]
    assert len(_runs(tmp_path)) == 1, "the experiment step must wait for the approval"

    with _port_watcher(port, alerts):
        approved = _seclo(tmp_path, "playbook", "approve", run_id, "confirm_fix", "--by", "alice")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert f"{title}: passed" in approved.stdout
    assert sorted(_runs(tmp_path)) == [(title, "detection_missed"), (title, "passed")]
    assert not list((tmp_path / ".seclo" / "pending").glob("*.json")), (
        "the pending row was loaded and removed"
    )
    with open_store(Workspace.open(tmp_path).store_path, read_only=True) as store:
        ends = rows(store, "SELECT step, detail FROM playbook_audit WHERE event = 'step_end' ORDER BY seq")
    assert [step for step, _ in ends] == ["confirm_fix", "rerun"]
    assert '"ok":true' in ends[-1][1]

    again = _seclo(tmp_path, "playbook", "evaluate")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("rerun-experiment: duplicate"), again.stdout
    assert "ended passed" not in again.stdout, "a passed run is no failure"


def test_failed_means_any_verdict_but_passed() -> None:
    """`outcomes: [failed]` is what the examples use; it stands for every verdict a run can end with but passed."""
    assert set(ExperimentTrigger.model_fields["outcomes"].annotation.__args__[0].__args__) == {  # type: ignore[union-attr]
        *VERDICTS,
        "failed",
    }
