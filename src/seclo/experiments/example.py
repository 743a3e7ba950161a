"""The example of examples/experiments, run by `seclo demo`: start the detector, run the passing experiment."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

from seclo.experiments.loader import load_experiment
from seclo.experiments.plan import plan_run
from seclo.experiments.result import RunResult
from seclo.experiments.runner import run_plan
from seclo.experiments.starter import example_folder
from seclo.workspace import Workspace

__all__ = ["example_folder", "run_example"]

PASSING = "failed-logins-detected.yaml"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_example(workspace: Workspace) -> RunResult | None:
    """Copy the example into the workspace, start its detector, run the passing experiment, stop the detector."""
    folder = example_folder()
    if folder is None:
        return None
    experiments = workspace.root / "experiments"
    for path in folder.glob("*.yaml"):
        shutil.copy(path, experiments / path.name)
    var = workspace.root / "var"
    health = _free_port()
    command = [sys.executable, str(folder / "detector.py"), "--dir", str(var), "--health-port", str(health)]
    command += ["--ports", f"{_free_port()}", "--interval", "0.01"]
    detector = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        end = time.monotonic() + 30
        while not (var / "detector.pid").exists() and detector.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        env = {"SECLO_EXAMPLE_VAR": str(var), "SECLO_EXAMPLE_HEALTH": f"http://127.0.0.1:{health}/health"}
        return run_plan(plan_run(load_experiment(experiments / PASSING), workspace, env=env))
    finally:
        detector.terminate()
        detector.wait()
