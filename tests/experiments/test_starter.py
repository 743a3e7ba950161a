"""`seclo init`'s starter experiments and playbooks: the README's commands work in a fresh workspace."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seclo.experiments.loader import load_experiment
from seclo.experiments.plan import plan_run
from seclo.workspace import Workspace, init_workspace

SECLO = [sys.executable, "-m", "seclo"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seclo(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SECLO, *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace made by `init`, nothing else."""
    root = tmp_path / "my-seclo"
    init_workspace(root)
    return root


@pytest.fixture
def detector(workspace: Path) -> Iterator[dict[str, str]]:
    """The detector init copied into experiments/, started as the starter files say, on free ports; yields
    the environment that points the starter experiments at it."""
    watched, health = _free_port(), _free_port()
    command = [sys.executable, "experiments/detector.py", "--dir", "var", "--ports", str(watched)]
    process = subprocess.Popen([*command, "--health-port", str(health)], cwd=workspace)
    try:
        end = time.monotonic() + 30
        while not (workspace / "var" / "detector.pid").exists() and process.poll() is None:
            assert time.monotonic() < end, "the detector did not start"
            time.sleep(0.01)
        yield {
            "SECLO_EXAMPLE_PORT": str(watched),
            "SECLO_EXAMPLE_HEALTH": f"http://127.0.0.1:{health}/health",
        }
    finally:
        process.terminate()
        process.wait()


def test_init_writes_the_experiments_playbooks_and_detector_the_readme_names(workspace: Path) -> None:
    """After `init`, experiments/ holds open-port, failed-logins and detector.py, playbooks/ page-on-burn."""
    assert sorted(p.name for p in (workspace / "experiments").iterdir()) == [
        "detector.py",
        "failed-logins.yaml",
        "open-port.yaml",
    ]
    assert sorted(p.name for p in (workspace / "playbooks").iterdir()) == [
        "page-on-burn.yaml",
        "ticket-past-sla.yaml",
    ]


def test_dry_runs_of_the_starters_exit_0(workspace: Path) -> None:
    """`seclo experiment run open-port --dry-run` and `seclo playbook run page-on-burn --dry-run` succeed."""
    experiment = _seclo(workspace, "experiment", "run", "open-port", "--dry-run")
    assert experiment.returncode == 0, experiment.stderr
    assert "inject listening_port into 127.0.0.1:18010" in experiment.stdout
    playbook = _seclo(workspace, "playbook", "run", "page-on-burn", "--dry-run")
    assert playbook.returncode == 0, playbook.stderr
    assert not (workspace / ".seclo" / "experiments" / "journals").exists()


def test_starter_port_is_one_the_detector_watches_by_default(workspace: Path) -> None:
    """Unmoved, open-port opens a port inside the detector's default watch range (18000-18019) and the
    default allowlist, so the README's run passes against the detector as documented."""
    plan = plan_run(load_experiment(workspace / "experiments" / "open-port.yaml"), Workspace.open(workspace))
    ports = {t.value for t in plan.targets if t.kind == "port"}
    assert ports == {"18010"}
    detector = (workspace / "experiments" / "detector.py").read_text(encoding="utf-8")
    assert 'add_argument("--ports", default="18000-18019"' in detector
    assert 'add_argument("--health-port", type=int, default=18099)' in detector


@pytest.mark.parametrize("name", ["open-port", "failed-logins"])
def test_starter_experiment_passes_against_the_example_detector(
    workspace: Path, detector: dict[str, str], name: str
) -> None:
    """A real run of each starter experiment injects on 127.0.0.1, is detected by the detector, rolls back
    and exits 0 with the verdict `passed` in its journal."""
    result = _seclo(workspace, "experiment", "run", name, "--format", "json", env=detector)
    assert result.returncode == 0, result.stdout + result.stderr
    journals = list((workspace / ".seclo" / "experiments" / "journals").glob("*.json"))
    assert len(journals) == 1
    assert json.loads(journals[0].read_text(encoding="utf-8"))["verdict"] == "passed"
