"""Acceptance: real experiments against the real example detector, on 127.0.0.1 and real files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from experiment_helpers import (
    EXAMPLES,
    Detector,
    free_port,
    port_is_open,
    sha256,
    tree_hashes,
    wait_for,
)

from seclo.errors import ExperimentError
from seclo.experiments import load_experiment, plan_run, run_plan
from seclo.experiments.result import RunResult
from seclo.store import open_store
from seclo.workspace import Workspace, init_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A new workspace with the example experiments in experiments/."""
    root = tmp_path / "ws"
    init_workspace(root)
    for path in EXAMPLES.glob("*.yaml"):
        shutil.copy(path, root / "experiments" / path.name)
    return root


@pytest.fixture
def detector(workspace: Path) -> Iterator[Detector]:
    """The example detector watching a free range of ports and var/auth.log in the workspace."""
    var = workspace / "var"
    low = free_port()
    health = free_port()
    command = [sys.executable, str(EXAMPLES / "detector.py"), "--dir", str(var)]
    command += ["--ports", f"{low}-{low}", "--health-port", str(health), "--interval", "0.005"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: (var / "detector.pid").exists() or process.poll() is not None, "the detector")
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        yield Detector(var, var / "detector.log", health, (low, low))
    finally:
        process.terminate()
        process.wait()


def run(root: Path, name: str, env: dict[str, str]) -> RunResult:
    """Run an experiment of the workspace through the library."""
    loaded = load_experiment(root / "experiments" / name)
    return run_plan(plan_run(loaded, Workspace.open(root), env=env))


def seclo(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the seclo CLI in a new process."""
    command = [sys.executable, "-m", "seclo", *args, "--workspace", str(root)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def write(root: Path, name: str, text: str) -> Path:
    """An experiment file in the workspace."""
    path = root / "experiments" / name
    path.write_text(text)
    return path


def test_brute_force_experiment_passes_and_is_recorded(workspace: Path, detector: Detector) -> None:
    """The example brute force is detected and blocked: passed, journaled, and in experiment_runs."""
    result = run(workspace, "failed-logins-detected.yaml", detector.env())
    assert result.verdict == "passed", result.reason
    t = result.timings
    assert t.injected_at
    assert t.detected_at
    assert t.remediated_at
    assert t.rolled_back_at
    assert t.injected_at <= t.detected_at <= t.remediated_at <= t.rolled_back_at
    journal = json.loads(result.journal.read_text())
    assert journal["verdict"] == "passed"
    assert journal["status"] == "completed"
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    with open_store(Workspace.open(workspace).store_path, read_only=True) as store:
        rows = store.conn.execute("SELECT run_id, outcome, fault FROM experiment_runs").fetchall()
    assert rows == [(result.run_id, "passed", "failed_logins")]


def test_measured_detection_agrees_with_the_detectors_own_log(workspace: Path, detector: Detector) -> None:
    """detected_at is within 50 ms of the time the detector logged raising its alert for this injection."""
    result = run(workspace, "failed-logins-detected.yaml", detector.env())
    assert result.verdict == "passed", result.reason
    [line] = detector.alerts(f"ALERT brute-force src=127.0.0.1 user=chaos-{result.run_id} ")
    alerted = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
    assert result.timings.detected_at is not None
    gap = abs((result.timings.detected_at - alerted).total_seconds())
    assert gap <= 0.050, f"measured {result.timings.detected_at}, detector logged {alerted}"


def test_unwatched_port_is_a_detection_miss_and_is_closed_afterwards(
    workspace: Path, detector: Detector
) -> None:
    """A listener on a port the detector does not watch: detection_missed, and the port is closed after."""
    port = free_port()
    result = run(workspace, "open-port-undetected.yaml", detector.env(SECLO_EXAMPLE_PORT=str(port)))
    assert result.verdict == "detection_missed", result.reason
    assert result.timings.detected_at is None
    assert not port_is_open(port)


def test_detected_but_never_closed_port_is_a_remediation_miss(workspace: Path, detector: Detector) -> None:
    """The watched port raises an alert, but nothing closes it: remediation_missed, then rolled back."""
    port = detector.watched[0]
    write(
        workspace,
        "port.yaml",
        f"""
title: watched port
configuration: {{var: {{type: env, key: SECLO_EXAMPLE_VAR}}}}
fault: {{type: listening_port, target: "127.0.0.1:{port}"}}
detection:
  deadline: 10s
  poll: {{max: 20ms}}
  probe:
    provider: {{type: seclo, probe: log_line, arguments: {{path: "${{var}}/detector.log", pattern: "ALERT unexpected-port port={port}$"}}}}
remediation:
  deadline: 300ms
  probe:
    provider: {{type: seclo, probe: tcp_port, arguments: {{port: {port}, expect: closed}}}}
""",
    )
    result = run(workspace, "port.yaml", detector.env())
    assert result.verdict == "remediation_missed", result.reason
    assert result.timings.detected_at is not None
    assert result.timings.remediated_at is None
    assert not port_is_open(port)


def test_steady_state_not_met_aborts_before_touching_anything(workspace: Path, detector: Detector) -> None:
    """With the detector's health endpoint unreachable the run aborts and the auth log is not written."""
    auth_log = detector.var / "auth.log"
    before = sha256(auth_log)
    env = detector.env(SECLO_EXAMPLE_HEALTH=f"http://127.0.0.1:{free_port()}/health")
    result = run(workspace, "failed-logins-detected.yaml", env)
    assert result.verdict == "aborted"
    assert result.timings.injected_at is None
    assert sha256(auth_log) == before


CONFIG_EXPERIMENT = """
title: sshd allows root login
fault:
  type: config_setting
  target: etc/sshd_config
  parameters: {{key: PermitRootLogin, value: "yes"}}
method:
  - type: action
    name: wait
    provider: {{type: process, path: sleep, arguments: ["{sleep}"]}}
detection:
  deadline: {deadline}
  probe:
    provider: {{type: seclo, probe: log_line, arguments: {{path: var/never.log, pattern: nothing}}}}
"""

SSHD_CONFIG = "# sshd\nPort 22\nPermitRootLogin no\nPasswordAuthentication no\n"


def _config(workspace: Path) -> Path:
    config = workspace / "etc" / "sshd_config"
    config.parent.mkdir()
    config.write_text(SSHD_CONFIG)
    return config


@pytest.mark.slow
def test_sigkill_after_injection_is_fully_restored_by_recover(workspace: Path) -> None:
    """A run killed with SIGKILL leaves its port open and its file changed; `recover` undoes both."""
    port = free_port()
    config = _config(workspace)
    original = sha256(config)
    write(workspace, "cfg.yaml", CONFIG_EXPERIMENT.format(sleep=60, deadline="60s"))
    write(
        workspace,
        "port.yaml",
        f"""
title: port left open
fault: {{type: listening_port, target: "127.0.0.1:{port}"}}
method: [{{type: action, name: wait, provider: {{type: process, path: sleep, arguments: ["60"]}}}}]
""",
    )
    command = [sys.executable, "-m", "seclo", "experiment", "run"]
    runs = [
        subprocess.Popen([*command, name, "--workspace", str(workspace)], stderr=subprocess.DEVNULL)
        for name in ("cfg", "port")
    ]
    wait_for(lambda: sha256(config) != original, "the config change")
    wait_for(lambda: port_is_open(port), "the listener")
    for process in runs:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert port_is_open(port)
    assert sha256(config) != original
    assert len(list((workspace / ".seclo" / "experiments" / "state").glob("*.state.json"))) == 2

    done = seclo(workspace, "experiment", "recover")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not port_is_open(port)
    assert sha256(config) == original
    assert not list((workspace / ".seclo" / "experiments" / "state").glob("*.state.json"))
    journals = [json.loads(p.read_text()) for p in (workspace / ".seclo/experiments/journals").glob("*.json")]
    assert sorted(j["verdict"] for j in journals) == ["aborted", "aborted"]
    again = seclo(workspace, "experiment", "recover")
    assert again.returncode == 0
    assert "nothing to recover" in again.stdout


@pytest.mark.slow
def test_sigint_during_the_method_rolls_back_then_exits_130(workspace: Path) -> None:
    """Ctrl-C while the method runs: the file is restored, the journal says interrupted, exit code 130."""
    config = _config(workspace)
    original = sha256(config)
    write(workspace, "cfg.yaml", CONFIG_EXPERIMENT.format(sleep=60, deadline="60s"))
    process = subprocess.Popen(
        [sys.executable, "-m", "seclo", "experiment", "run", "cfg", "--workspace", str(workspace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: sha256(config) != original, "the config change")
    assert "PermitRootLogin yes" in config.read_text()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert sha256(config) == original
    [journal] = [
        json.loads(p.read_text()) for p in (workspace / ".seclo/experiments/journals").glob("*.json")
    ]
    assert journal["status"] == "interrupted"
    assert journal["verdict"] == "aborted"
    assert journal["timings"]["rolled_back_at"] is not None
    assert not list((workspace / ".seclo/experiments/state").glob("*.state.json"))


def test_target_outside_the_allowlist_is_refused_before_anything_is_touched(
    workspace: Path, tmp_path: Path
) -> None:
    """A config file outside the workspace is refused: exit 2, the file unchanged, no state and no journal."""
    outside = tmp_path / "elsewhere" / "sshd_config"
    outside.parent.mkdir()
    outside.write_text(SSHD_CONFIG)
    port = free_port()
    write(
        workspace,
        "bad.yaml",
        f"""
title: outside
fault: {{type: config_setting, target: "{outside}", parameters: {{key: PermitRootLogin, value: "yes"}}}}
""",
    )
    write(
        workspace, "host.yaml", f'title: remote\nfault: {{type: listening_port, target: "10.1.2.3:{port}"}}\n'
    )
    before = tree_hashes(workspace)
    for name in ("bad", "host"):
        done = seclo(workspace, "experiment", "run", name)
        assert done.returncode == 2, done.stderr
        assert "allowlist" in done.stderr
    assert sha256(outside) == sha256(outside)
    assert outside.read_text() == SSHD_CONFIG
    assert tree_hashes(workspace) == before
    assert not (workspace / ".seclo").exists()
    with pytest.raises(ExperimentError, match="outside the allowed paths"):
        plan_run(load_experiment(workspace / "experiments" / "bad.yaml"), Workspace.open(workspace))


def test_dry_run_touches_nothing(workspace: Path, detector: Detector) -> None:
    """--dry-run prints the plan; every file keeps its hash and the port stays closed."""
    port = free_port()
    _config(workspace)
    write(workspace, "cfg.yaml", CONFIG_EXPERIMENT.format(sleep=1, deadline="1s"))
    env = detector.env(SECLO_EXAMPLE_PORT=str(port))
    before = tree_hashes(workspace)
    for name in ("cfg", "open-port-undetected", "failed-logins-detected"):
        done = seclo(workspace, "experiment", "run", name, "--dry-run", env=env)
        assert done.returncode == 0, done.stderr
        assert "nothing will be touched" in done.stdout
        assert "inject" in done.stdout
        assert not port_is_open(port)
    after = tree_hashes(workspace)
    # The detector keeps writing its own log; nothing else may change.
    assert {k: v for k, v in after.items() if k != "var/detector.log"} == {
        k: v for k, v in before.items() if k != "var/detector.log"
    }
    assert not (workspace / ".seclo").exists()
    assert os.path.exists(detector.log)
