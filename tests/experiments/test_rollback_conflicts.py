"""Rollback and `recover` restore a file only while it holds what the fault wrote; later edits are kept."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from experiment_helpers import new_workspace, run_experiment, seclo_cli, write_experiment

from seclo.experiments.context import RunContext
from seclo.experiments.faults.interface import RollbackConflictError
from seclo.experiments.registry import get_fault
from seclo.experiments.state import FaultState, RunState, write_state

ORIGINAL = "Port 22\nPermitRootLogin no\n"


def _context(tmp_path: Path) -> RunContext:
    (tmp_path / "state").mkdir(exist_ok=True)
    return RunContext(tmp_path, tmp_path / "store.duckdb", tmp_path / "state", "inj42")


# One case per fault that edits a file: its target, original text and parameters.
FILE_FAULTS = [
    ("config_setting", "sshd_config", ORIGINAL, {"key": "PermitRootLogin", "value": "yes"}),
    ("vulnerable_package", "requirements.txt", "flask==3.0.0\n", {}),
    ("inventory_account", "accounts.csv", "account_id,user,mfa_enabled\na1,alice,true\n", {"user": "x"}),
]


@pytest.mark.parametrize(("fault_type", "name", "original", "params"), FILE_FAULTS)
def test_a_file_edited_after_injection_is_kept_and_its_original_saved_beside_it(
    tmp_path: Path, fault_type: str, name: str, original: str, params: dict[str, object]
) -> None:
    """Rollback of an edited file raises a conflict, keeps the edit, saves FILE.seclo-original; once only."""
    ctx = _context(tmp_path)
    target = tmp_path / name
    target.write_text(original)
    target.chmod(0o640)
    fault = get_fault(fault_type)
    p = fault.params.model_validate(params)
    undo = fault.plan(name, p, ctx)
    fault.inject(name, p, undo, ctx)
    edited = target.read_text() + "# an admin's change after the injection\n"
    target.write_text(edited)
    with pytest.raises(RollbackConflictError, match="was changed after the injection") as caught:
        fault.rollback(fault.load_undo(undo.model_dump(mode="json")))
    saved = tmp_path / f"{name}.seclo-original"
    assert str(saved) in str(caught.value)
    assert target.read_text() == edited
    assert saved.read_text() == original
    assert saved.stat().st_mode & 0o777 == 0o640
    assert fault.rollback(undo) == ""  # nothing left to undo: a second recover does not conflict again
    assert target.read_text() == edited
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == []


def test_an_existing_seclo_original_is_never_replaced(tmp_path: Path) -> None:
    """When FILE.seclo-original already holds something else, the original goes to FILE.seclo-original.1."""
    ctx = _context(tmp_path)
    target = tmp_path / "sshd_config"
    target.write_text(ORIGINAL)
    (tmp_path / "sshd_config.seclo-original").write_text("an older conflict's original\n")
    fault = get_fault("config_setting")
    p = fault.params.model_validate({"key": "PermitRootLogin", "value": "yes"})
    undo = fault.plan("sshd_config", p, ctx)
    fault.inject("sshd_config", p, undo, ctx)
    target.write_text("Port 2222\n")
    with pytest.raises(RollbackConflictError):
        fault.rollback(undo)
    assert (tmp_path / "sshd_config.seclo-original").read_text() == "an older conflict's original\n"
    assert (tmp_path / "sshd_config.seclo-original.1").read_text() == ORIGINAL


def test_a_file_deleted_after_injection_stays_deleted(tmp_path: Path) -> None:
    """A file removed after the injection is not brought back; its original waits beside it."""
    ctx = _context(tmp_path)
    target = tmp_path / "sshd_config"
    target.write_text(ORIGINAL)
    fault = get_fault("config_setting")
    p = fault.params.model_validate({"key": "PermitRootLogin", "value": "yes"})
    undo = fault.plan("sshd_config", p, ctx)
    fault.inject("sshd_config", p, undo, ctx)
    target.unlink()
    with pytest.raises(RollbackConflictError, match="was deleted after the injection"):
        fault.rollback(undo)
    assert not target.exists()
    assert (tmp_path / "sshd_config.seclo-original").read_text() == ORIGINAL


def test_a_file_put_back_by_hand_is_left_alone(tmp_path: Path) -> None:
    """A file someone already restored to its original is not a conflict: nothing is left to undo."""
    ctx = _context(tmp_path)
    target = tmp_path / "sshd_config"
    target.write_text(ORIGINAL)
    fault = get_fault("config_setting")
    p = fault.params.model_validate({"key": "PermitRootLogin", "value": "yes"})
    undo = fault.plan("sshd_config", p, ctx)
    fault.inject("sshd_config", p, undo, ctx)
    target.write_text(ORIGINAL)
    assert fault.rollback(undo) == ""
    assert not (tmp_path / "sshd_config.seclo-original").exists()


def test_a_canary_edited_after_injection_is_kept(tmp_path: Path) -> None:
    """A planted canary someone wrote into after the injection is not deleted; the conflict says so."""
    ctx = _context(tmp_path)
    fault = get_fault("canary_credential")
    p = fault.params.model_validate({})
    undo = fault.plan("aws-credentials", p, ctx)
    fault.inject("aws-credentials", p, undo, ctx)
    canary = tmp_path / "aws-credentials"
    canary.write_text(canary.read_text() + "real_key = keep me\n")
    with pytest.raises(RollbackConflictError, match="which the fault created, was changed"):
        fault.rollback(undo)
    assert "keep me" in canary.read_text()


def _dead_pid() -> int:
    """The pid of a process that has ended (the killed run's)."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


EXPERIMENT = """
title: root login allowed
fault: {{type: config_setting, target: etc/sshd_config, parameters: {{key: PermitRootLogin, value: "yes"}}}}
method:
  - type: action
    name: admin edits the file
    provider: {{type: process, path: sh, arguments: ["-c", "echo 'Port 2222' >> {config}"]}}
"""


def test_a_run_whose_target_was_edited_reports_the_conflict_and_exits_1(tmp_path: Path) -> None:
    """`experiment run` keeps an edit made during the run, journals the conflict and exits 1."""
    root = new_workspace(tmp_path / "ws")
    config = root / "etc" / "sshd_config"
    config.parent.mkdir()
    config.write_text(ORIGINAL)
    write_experiment(root, "edited.yaml", EXPERIMENT.format(config=config))
    result = run_experiment(root, "edited.yaml")
    assert result.conflict
    assert "rollback conflict" in result.reason
    journal = json.loads(result.journal.read_text())
    assert "sshd_config.seclo-original" in journal["rollback_conflict"]
    assert journal["rollbacks"][-1]["status"] == "conflict"
    assert config.read_text() == "Port 22\nPermitRootLogin yes\nPort 2222\n"
    assert (config.parent / "sshd_config.seclo-original").read_text() == ORIGINAL
    assert not list((root / ".seclo" / "experiments" / "state").glob("*.state.json"))
    (config.parent / "sshd_config.seclo-original").unlink()
    config.write_text(ORIGINAL)
    done = seclo_cli(root, "experiment", "run", "edited", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sshd_config.seclo-original" in json.loads(done.stdout)["rollback_conflict"]


def test_recover_keeps_a_file_edited_after_a_killed_run_and_exits_1(tmp_path: Path) -> None:
    """`recover` after a killed run whose file was edited since: the edit stays, the conflict is printed."""
    root = new_workspace(tmp_path / "ws")
    config = root / "etc" / "sshd_config"
    config.parent.mkdir()
    config.write_text(ORIGINAL)
    experiment = write_experiment(root, "edited.yaml", EXPERIMENT.format(config=config))
    folder = root / ".seclo" / "experiments" / "state"
    folder.mkdir(parents=True)
    # What a run killed after its injection leaves: the state file and the changed file.
    ctx = RunContext(root, root / ".seclo" / "store.duckdb", folder, "20261203213500abcdef")
    fault = get_fault("config_setting")
    p = fault.params.model_validate({"key": "PermitRootLogin", "value": "yes"})
    undo = fault.plan("etc/sshd_config", p, ctx)
    state = RunState(
        run_id=ctx.injection_id,
        title="root login allowed",
        experiment=str(experiment),
        journal=str(root / ".seclo" / "experiments" / "journals" / f"{ctx.injection_id}.json"),
        started_at="2026-12-03T21:35:00.000Z",
        injected_at="2026-12-03T21:35:00.100Z",
        pid=_dead_pid(),
        faults=[FaultState(type="config_setting", undo=undo.model_dump(mode="json"))],
    )
    write_state(folder, state)
    fault.inject("etc/sshd_config", p, undo, ctx)
    config.write_text(config.read_text() + "Port 2222\n")
    done = seclo_cli(root, "experiment", "recover")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "conflict: undo config_setting:" in done.stdout
    assert "sshd_config.seclo-original" in done.stdout
    assert config.read_text() == "Port 22\nPermitRootLogin yes\nPort 2222\n"
    assert (config.parent / "sshd_config.seclo-original").read_text() == ORIGINAL
    journal = json.loads(Path(state.journal).read_text())
    assert "sshd_config.seclo-original" in journal["rollback_conflict"]
    again = seclo_cli(root, "experiment", "recover")
    assert again.returncode == 0
    assert "nothing to recover" in again.stdout
