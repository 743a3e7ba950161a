"""Continuous mode (`--every`, `--jitter`) and the maximum duration, with real processes and signals."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
from experiment_helpers import (
    journal_of,
    new_workspace,
    run_experiment,
    seclo_cli,
    sha256,
    wait_for,
    write_experiment,
)

from seclo.experiments import load_experiment, plan_run, run_plan
from seclo.experiments.result import RunResult
from seclo.experiments.scheduler import run_every
from seclo.store import open_store
from seclo.workspace import Workspace

SSHD_CONFIG = "# sshd\nPort 22\nPermitRootLogin no\n"

EXPERIMENT = """
title: root login allowed
fault:
  type: config_setting
  target: etc/sshd_config
  parameters: {{key: PermitRootLogin, value: "yes"}}
method:
  - {{type: action, name: wait, provider: {{type: process, path: sleep, arguments: ["{sleep}"]}}}}
max_duration: {max_duration}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace with etc/sshd_config."""
    root = new_workspace(tmp_path / "ws")
    (root / "etc").mkdir()
    (root / "etc" / "sshd_config").write_text(SSHD_CONFIG)
    return root


def journals(root: Path) -> list[dict[str, object]]:
    """Every journal written in the workspace, oldest first."""
    folder = root / ".seclo" / "experiments" / "journals"
    found = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return sorted(found, key=lambda j: str(j["start"]))


def state_files(root: Path) -> list[Path]:
    """State files left in the workspace (a fault not rolled back)."""
    return list((root / ".seclo" / "experiments" / "state").glob("*.state.json"))


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    """`seclo experiment run cfg ARGS` in a new process."""
    command = [sys.executable, "-m", "seclo", "experiment", "run", "cfg", *args, "--workspace", str(root)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_runs(process: subprocess.Popen[str], count: int) -> list[str]:
    """stdout lines up to the `count`-th run shown (each run ends with its `journal:` line)."""
    assert process.stdout is not None
    lines: list[str] = []
    while sum(line.startswith("journal: ") for line in lines) < count:
        line = process.stdout.readline()
        assert line, "the process ended early: " + "".join(lines)
        lines.append(line)
    return lines


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_runs_again_and_again_until_a_signal_while_waiting_ends_it_cleanly(root: Path, signum: int) -> None:
    """Each run is journaled, recorded and rolled back; a signal between runs ends the loop with exit 0."""
    config = root / "etc" / "sshd_config"
    write_experiment(root, "cfg.yaml", EXPERIMENT.format(sleep="0.01", max_duration="1m"))
    # The interval leaves the test ample time to signal while the loop waits, even on a loaded machine.
    process = start(root, "--every", "2s", "--jitter", "300ms")
    try:
        read_runs(process, 3)
    finally:
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert "Traceback" not in err
    runs = journals(root)
    assert len(runs) == 3
    assert [j["verdict"] for j in runs] == ["passed"] * 3
    assert all(j["rollbacks"][-1]["status"] == "succeeded" for j in runs)  # type: ignore[index]
    assert len({j["run_id"] for j in runs}) == 3
    starts = [datetime.fromisoformat(str(j["start"]).replace("Z", "+00:00")) for j in runs]
    # Each run starts at least the interval after the previous one started (plus up to the jitter).
    assert all((b - a).total_seconds() >= 2.0 for a, b in itertools.pairwise(starts))
    assert sha256(config) == sha256_text(SSHD_CONFIG, root)
    assert not state_files(root)
    with open_store(Workspace.open(root).store_path, read_only=True) as store:
        rows = store.conn.execute("SELECT run_id, outcome FROM experiment_runs ORDER BY run_id").fetchall()
    assert rows == [(j["run_id"], "passed") for j in runs]


def gone(pid: int) -> bool:
    """The process has ended (exited, or a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def sha256_text(text: str, root: Path) -> str:
    """The hash of a file holding `text`."""
    probe = root / ".expected"
    probe.write_text(text)
    try:
        return sha256(probe)
    finally:
        probe.unlink()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_run_rolls_it_back_and_ends_the_loop_with_130(root: Path, signum: int) -> None:
    """A signal while the second run's fault is in place: that run is rolled back and journaled, exit 130."""
    config = root / "etc" / "sshd_config"
    delay = root / "delay"
    delay.write_text("0.01")
    text = EXPERIMENT.format(sleep="", max_duration="1m").replace(
        'path: sleep, arguments: [""]', f'path: sh, arguments: ["-c", "sleep $(cat {delay})"]'
    )
    write_experiment(root, "cfg.yaml", text)
    process = start(root, "--every", "500ms")
    read_runs(process, 1)
    delay.write_text("60")
    wait_for(lambda: len(journals(root)) == 1 and "PermitRootLogin yes" in config.read_text(), "the next run")
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err
    runs = journals(root)
    assert [(j["verdict"], j["status"]) for j in runs] == [
        ("passed", "completed"),
        ("aborted", "interrupted"),
    ]
    assert runs[-1]["timings"]["rolled_back_at"] is not None  # type: ignore[index]
    assert config.read_text() == SSHD_CONFIG
    assert not state_files(root)


def test_a_run_past_its_maximum_duration_is_aborted_and_rolled_back(root: Path) -> None:
    """A method sleeping far beyond max_duration is cut short: verdict aborted, the file restored."""
    config = root / "etc" / "sshd_config"
    write_experiment(root, "cfg.yaml", EXPERIMENT.format(sleep="60", max_duration="300ms"))
    result = run_experiment(root, "cfg.yaml")
    assert (result.verdict, result.status) == ("aborted", "aborted")
    assert result.reason == "the run exceeded its maximum duration of 0.3 s"
    assert result.timings.rolled_back_at is not None
    assert config.read_text() == SSHD_CONFIG
    assert not state_files(root)
    journal = journal_of(result)
    assert journal["rollbacks"][-1]["status"] == "succeeded"
    with open_store(Workspace.open(root).store_path, read_only=True) as store:
        assert store.conn.execute("SELECT outcome FROM experiment_runs").fetchall() == [("aborted",)]


def test_a_background_activity_is_stopped_with_the_run_at_its_maximum_duration(root: Path) -> None:
    """A background process activity running past max_duration is killed with its children: the run aborts,
    rolls back and leaves no process of its own behind."""
    config = root / "etc" / "sshd_config"
    pidfile = root / "background.pid"
    text = EXPERIMENT.format(sleep="", max_duration="300ms").replace(
        'name: wait, provider: {type: process, path: sleep, arguments: [""]}',
        f'name: wait, background: true, provider: {{type: process, path: sh, arguments: ["-c", "sleep 120 & echo $! > {pidfile}; wait"]}}',
    )
    write_experiment(root, "cfg.yaml", text)
    done = seclo_cli(root, "experiment", "run", "cfg", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["verdict"], result["reason"]) == (
        "aborted",
        "the run exceeded its maximum duration of 0.3 s",
    )
    assert config.read_text() == SSHD_CONFIG
    pid = int(pidfile.read_text())
    wait_for(lambda: gone(pid), "the background shell's child to end")

    [journal] = journals(root)
    assert journal["run"] == [
        {**journal["run"][0], "status": "failed", "exception": ["ActivityFailed: stopped with the run"]}  # type: ignore[index]
    ]


def test_jitter_without_every_is_a_usage_error(root: Path) -> None:
    """--jitter alone is refused with exit 2 before anything runs."""
    write_experiment(root, "cfg.yaml", EXPERIMENT.format(sleep="0", max_duration="1m"))
    done = seclo_cli(root, "experiment", "run", "cfg", "--jitter", "5m")
    assert done.returncode == 2
    assert "--jitter needs --every" in done.stderr
    assert not (root / ".seclo" / "experiments").exists()


def test_a_signal_while_the_next_run_is_being_planned_stops_it_before_the_injection(root: Path) -> None:
    """SIGTERM after the wait but before the run's own guard is in place: nothing is injected, the loop ends."""
    config = root / "etc" / "sshd_config"
    write_experiment(root, "cfg.yaml", EXPERIMENT.format(sleep="60", max_duration="1m"))
    workspace = Workspace.open(root)

    def once(stop: threading.Event) -> RunResult:
        plan = plan_run(load_experiment(root / "experiments" / "cfg.yaml"), workspace)
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while planning, as a user's kill may
        return run_plan(plan, stop=stop)

    results = list(run_every(once, every=0.01))
    assert [(r.verdict, r.status) for r in results] == [("aborted", "interrupted")]
    assert results[0].timings.injected_at is None
    assert config.read_text() == SSHD_CONFIG
    assert not state_files(root)


def test_a_process_activity_past_its_own_timeout_fails_and_is_killed(root: Path) -> None:
    """A provider `timeout` shorter than the command fails the activity, kills it and its children, and the run
    goes on."""
    pidfile = root / "slow.pid"
    text = EXPERIMENT.format(sleep="", max_duration="1m").replace(
        'provider: {type: process, path: sleep, arguments: [""]}',
        f'provider: {{type: process, path: sh, timeout: 0.2, arguments: ["-c", "sleep 120 & echo $! > {pidfile}; wait"]}}',
    )
    write_experiment(root, "cfg.yaml", text)
    result = run_experiment(root, "cfg.yaml")
    assert result.verdict == "passed", result.reason
    [wait] = journal_of(result)["run"]
    assert (wait["status"], wait["exception"]) == (
        "failed",
        ["ActivityFailed: process activity took too long to complete"],
    )
    pid = int(pidfile.read_text())
    wait_for(lambda: gone(pid), "the shell's child to end")
    assert (root / "etc" / "sshd_config").read_text() == SSHD_CONFIG
