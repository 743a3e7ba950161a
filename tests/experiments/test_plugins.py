"""Third-party faults and probes, installed as a real distribution with entry points, run by the seclo CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from experiment_helpers import new_workspace, seclo_cli, wait_for, write_experiment

PLUGIN = '''
"""A third-party seclo plug-in: a marker-file fault and a probe that reads it."""

from pathlib import Path
from typing import ClassVar

from seclo.experiments import Fault, FaultParams, Observation, Probe, ProbeParams, Undo


class MarkerParams(FaultParams):
    text: str = "planted ${injection.id}"
    bug: str = ""  # "inject" or "rollback": raise there, as a buggy plug-in would


class MarkerUndo(Undo):
    path: str
    bug: str = ""


class MarkerFault(Fault):
    name: ClassVar[str] = "marker_file"
    summary: ClassVar[str] = "Plants a marker file."
    params = MarkerParams
    undo = MarkerUndo

    def targets(self, target, params, context):
        from seclo.experiments.targets import Target

        return (Target("path", str(context.path(target))),)

    def plan(self, target, params, context):
        return MarkerUndo(path=str(context.path(target)), bug=params.bug)

    def inject(self, target, params, undo, context):
        Path(undo.path).write_text(params.text + "\\n")
        if undo.bug == "inject":
            raise RuntimeError("half done")
        return {"marker": undo.path}

    def rollback(self, undo):
        if undo.bug == "rollback":
            raise RuntimeError("cannot undo")
        path = Path(undo.path)
        if not path.exists():
            return ""
        path.unlink()
        return f"removed {path}"


class Exploding(Probe):
    name: ClassVar[str] = "exploding"
    summary: ClassVar[str] = "A probe with a bug."

    def check(self, params, baseline, context):
        raise RuntimeError("the plug-in has a bug")


class BadBaseline(Probe):
    name: ClassVar[str] = "bad_baseline"
    summary: ClassVar[str] = "A probe whose baseline has a bug."

    def baseline(self, params, context):
        raise KeyError("offset")

    def check(self, params, baseline, context):
        return Observation(True, "fine")


class MarkerSeenParams(ProbeParams):
    path: str
    text: str


class MarkerSeen(Probe):
    name: ClassVar[str] = "marker_seen"
    summary: ClassVar[str] = "The marker file holds the text."
    params = MarkerSeenParams

    def check(self, params, baseline, context):
        path = context.path(params.path)
        found = path.exists() and params.text in path.read_text()
        return Observation(found, f"{path}: {'found' if found else 'not found'}")
'''

ENTRY_POINTS = """
[seclo.faults]
marker_file = chaosplug:MarkerFault
listening_port = chaosplug:MarkerFault

[seclo.probes]
marker_seen = chaosplug:MarkerSeen
exploding = chaosplug:Exploding
bad_baseline = chaosplug:BadBaseline
"""


def install_plugin(folder: Path, entry_points: str = ENTRY_POINTS) -> dict[str, str]:
    """Install the `chaosplug` distribution into `folder` and return an environment that has it on sys.path."""
    (folder / "chaosplug").mkdir(parents=True)
    (folder / "chaosplug" / "__init__.py").write_text(PLUGIN)
    info = folder / "chaosplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: chaosplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    return {**os.environ, "PYTHONPATH": str(folder)}


EXPERIMENT = """
title: a plug-in fault seen by a plug-in probe
fault: {type: marker_file, target: var/marker}
detection:
  deadline: 10s
  poll: {initial: 5ms, max: 20ms}
  probe:
    provider: {type: seclo, probe: marker_seen, arguments: {path: var/marker, text: "planted ${injection.id}"}}
remediation:
  deadline: 300ms
  probe:
    provider: {type: seclo, probe: marker_seen, arguments: {path: var/marker, text: "nothing like this"}}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A new workspace with a var/ folder."""
    root = new_workspace(tmp_path / "ws")
    (root / "var").mkdir()
    return root


def test_a_plugin_fault_and_probe_run_like_built_in_ones(root: Path, tmp_path: Path) -> None:
    """The plug-in fault is injected and rolled back, the plug-in probe detects it; all journaled."""
    env = install_plugin(tmp_path / "site")
    write_experiment(root, "marker.yaml", EXPERIMENT)
    done = seclo_cli(root, "experiment", "run", "marker", "--format", "json", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "remediation_missed"
    assert result["fault"] == "marker_file"
    assert not (root / "var" / "marker").exists()
    journal = json.loads(Path(result["journal"]).read_text())
    assert journal["injection"]["details"] == {"marker": str((root / "var" / "marker").resolve())}
    assert journal["detection"]["last"]["detail"] == f"{(root / 'var' / 'marker').resolve()}: found"
    assert journal["rollbacks"][-1]["status"] == "succeeded"
    assert journal["rollbacks"][-1]["output"].startswith("removed ")


def test_a_plugin_cannot_replace_a_built_in_fault(root: Path, tmp_path: Path) -> None:
    """A plug-in registered as `listening_port` is ignored: the built-in port listener still runs."""
    env = install_plugin(tmp_path / "site")
    write_experiment(root, "port.yaml", "title: port\nfault: {type: listening_port, target: '127.0.0.1:1'}\n")
    done = seclo_cli(root, "experiment", "run", "port", "--dry-run", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "outside the allowed ports" in done.stderr


def test_without_the_plugin_installed_the_fault_is_unknown(root: Path) -> None:
    """The same experiment without the distribution: exit 2 naming the line, the unknown fault and the known ones."""
    write_experiment(root, "marker.yaml", EXPERIMENT)
    done = seclo_cli(root, "experiment", "run", "marker")
    assert done.returncode == 2
    assert "marker.yaml:3: fault.type: unknown fault 'marker_file'" in done.stderr
    assert "listening_port" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_plugin_is_reported_by_name(root: Path, tmp_path: Path) -> None:
    """An entry point naming a missing class: exit 2 with the plug-in's name, never a traceback."""
    env = install_plugin(tmp_path / "site", "[seclo.faults]\nmarker_file = chaosplug:NoSuchFault\n")
    write_experiment(root, "marker.yaml", EXPERIMENT)
    done = seclo_cli(root, "experiment", "run", "marker", env=env)
    assert done.returncode == 2
    assert "the seclo.faults plug-in 'marker_file' (chaosplug:NoSuchFault) cannot be loaded" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_plugin_does_not_stop_experiments_that_do_not_use_it(root: Path, tmp_path: Path) -> None:
    """With broken fault and probe plug-ins installed, an experiment using only built-ins still runs."""
    broken = "[seclo.faults]\nbad = chaosplug:NoSuchFault\n[seclo.probes]\nworse = chaosplug:NoSuchProbe\n"
    env = install_plugin(tmp_path / "site", broken)
    (root / "var" / "auth.log").write_text("")
    write_experiment(
        root,
        "logins.yaml",
        "title: logins\nfault: {type: failed_logins, target: var/auth.log}\n"
        "detection: {deadline: 10s, probe: {provider: {type: seclo, probe: log_line, "
        "arguments: {path: var/auth.log, pattern: 'user ${injection.user} '}}}}\n",
    )
    done = seclo_cli(root, "experiment", "run", "logins", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len((root / "var" / "auth.log").read_text().splitlines()) == 20


def test_a_plugin_registered_under_another_name_than_its_own_is_refused(root: Path, tmp_path: Path) -> None:
    """An entry point name that differs from the class's `name` is refused, naming both (recover needs one)."""
    env = install_plugin(tmp_path / "site")
    site = tmp_path / "site" / "chaosplug" / "__init__.py"
    site.write_text(
        site.read_text().replace('name: ClassVar[str] = "marker_file"', 'name: ClassVar[str] = "marker"')
    )
    write_experiment(root, "marker.yaml", EXPERIMENT)
    done = seclo_cli(root, "experiment", "run", "marker", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        "the seclo.faults plug-in 'marker_file' (chaosplug:MarkerFault) calls itself 'marker'" in done.stderr
    )
    assert not (root / "var" / "marker").exists()


def test_a_killed_run_of_a_plugin_fault_is_undone_by_recover(root: Path, tmp_path: Path) -> None:
    """SIGKILL after the plug-in's injection leaves the marker; `recover`, a new process, removes it."""
    env = install_plugin(tmp_path / "site")
    marker = root / "var" / "marker"
    write_experiment(
        root,
        "slow.yaml",
        "title: slow\nfault: {type: marker_file, target: var/marker}\n"
        "method: [{type: action, name: wait, provider: {type: process, path: sleep, arguments: ['60']}}]\n",
    )
    command = [sys.executable, "-m", "seclo", "experiment", "run", "slow", "--workspace", str(root)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(marker.exists, "the marker")
    finally:
        process.kill()
        process.wait()
    assert marker.exists()
    without = seclo_cli(root, "experiment", "recover")
    assert without.returncode == 1
    assert marker.exists()
    done = seclo_cli(root, "experiment", "recover", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "undo marker_file: removed" in done.stdout
    assert not marker.exists()


@pytest.mark.parametrize("where", ["steady-state", "detection"])
def test_a_plugin_probe_that_raises_is_a_failed_check_not_a_crash(
    root: Path, tmp_path: Path, where: str
) -> None:
    """A bug in a plug-in probe fails its check, named in the journal; the run still ends and rolls back."""
    env = install_plugin(tmp_path / "site")
    probe = "{type: seclo, probe: exploding}"
    steps = (
        f"steady-state-hypothesis: {{title: up, probes: [{{type: probe, name: boom, provider: {probe}}}]}}\n"
        if where == "steady-state"
        else f"detection: {{deadline: 200ms, probe: {{provider: {probe}}}}}\n"
    )
    write_experiment(
        root, "boom.yaml", "title: boom\nfault: {type: marker_file, target: var/marker}\n" + steps
    )
    done = seclo_cli(root, "experiment", "run", "boom", "--format", "json", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    journal = json.loads(Path(result["journal"]).read_text())
    if where == "steady-state":
        assert result["verdict"] == "aborted"
        [check] = journal["steady_states"]["before"]["probes"]
    else:
        assert result["verdict"] == "detection_missed"
        check = journal["detection"]["last"]
    assert check["exception"] == [
        "ActivityFailed: probe 'exploding' failed: RuntimeError: the plug-in has a bug"
    ]
    assert not (root / "var" / "marker").exists()


def test_a_plugin_probe_failing_its_baseline_stops_the_run_before_the_injection(
    root: Path, tmp_path: Path
) -> None:
    """A baseline that raises aborts the run with the probe's name, and the fault is never injected."""
    env = install_plugin(tmp_path / "site")
    write_experiment(
        root,
        "base.yaml",
        "title: base\nfault: {type: marker_file, target: var/marker}\n"
        "detection: {deadline: 1s, probe: {provider: {type: seclo, probe: bad_baseline}}}\n",
    )
    done = seclo_cli(root, "experiment", "run", "base", "--format", "json", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "aborted"
    assert result["reason"] == "probe 'bad_baseline' could not take its baseline: KeyError: 'offset'"
    assert result["timings"]["injected_at"] is None
    assert not (root / "var" / "marker").exists()


def test_a_plugin_fault_raising_in_inject_is_aborted_and_rolled_back(root: Path, tmp_path: Path) -> None:
    """A plug-in's inject that raises after a partial change: verdict aborted, the change undone, journaled."""
    env = install_plugin(tmp_path / "site")
    write_experiment(
        root,
        "bug.yaml",
        "title: bug\nfault: {type: marker_file, target: var/marker, parameters: {bug: inject}}\n",
    )
    done = seclo_cli(root, "experiment", "run", "bug", "--format", "json", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "aborted"
    assert result["reason"] == "fault 'marker_file' failed: RuntimeError: half done"
    assert result["timings"]["rolled_back_at"] is not None
    assert not (root / "var" / "marker").exists()
    assert not list((root / ".seclo" / "experiments" / "state").glob("*.state.json"))


def test_a_plugin_fault_raising_in_rollback_keeps_its_state_for_recover(root: Path, tmp_path: Path) -> None:
    """A plug-in's rollback that raises: the run says so, is journaled, and its state file stays for `recover`."""
    env = install_plugin(tmp_path / "site")
    write_experiment(
        root,
        "bug.yaml",
        "title: bug\nfault: {type: marker_file, target: var/marker, parameters: {bug: rollback}}\n",
    )
    done = seclo_cli(root, "experiment", "run", "bug", "--format", "json", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert "a rollback failed: run `seclo experiment recover` once the cause is fixed" in result["reason"]
    journal = json.loads(Path(result["journal"]).read_text())
    assert journal["rollbacks"][-1]["status"] == "failed"
    assert journal["rollbacks"][-1]["output"] == "RuntimeError: cannot undo"
    assert (root / "var" / "marker").exists()
    assert len(list((root / ".seclo" / "experiments" / "state").glob("*.state.json"))) == 1
    again = seclo_cli(root, "experiment", "recover", env=env)
    assert again.returncode == 1
    assert "undo marker_file: RuntimeError: cannot undo" in again.stdout
    assert "Traceback" not in again.stderr


def test_continuous_mode_stops_after_a_run_it_could_not_roll_back(root: Path, tmp_path: Path) -> None:
    """With --every, a failed rollback ends the loop (exit 1) instead of injecting again on top of it."""
    env = install_plugin(tmp_path / "site")
    write_experiment(
        root,
        "bug.yaml",
        "title: bug\nfault: {type: marker_file, target: var/marker, parameters: {bug: rollback}}\n",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "seclo",
            "experiment",
            "run",
            "bug",
            "--every",
            "10ms",
            "--workspace",
            str(root),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(list((root / ".seclo" / "experiments" / "journals").glob("*.json"))) == 1
    assert len(list((root / ".seclo" / "experiments" / "state").glob("*.state.json"))) == 1
