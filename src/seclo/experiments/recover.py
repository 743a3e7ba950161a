"""`seclo experiment recover`: roll back what killed runs left behind, from their state files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from seclo import __version__
from seclo.errors import SecloError, StoreError
from seclo.experiments.activities import execute
from seclo.experiments.clock import Clock, iso_ms
from seclo.experiments.context import RunContext
from seclo.experiments.faults.interface import RollbackConflictError
from seclo.experiments.journal import base_journal, record_run, timings_document, write_journal
from seclo.experiments.loader import load_experiment
from seclo.experiments.model import Activity
from seclo.experiments.registry import get_fault
from seclo.experiments.result import RunResult, Timings
from seclo.experiments.state import FaultState, StateFile, pending_runs, remove_state
from seclo.experiments.variables import Redactor, resolve_variables
from seclo.workspace import Workspace

__all__ = ["Recovery", "recover_runs"]


@dataclass(frozen=True, slots=True)
class Recovery:
    """What recovering one run did.

    Attributes:
        run_id: the run.
        title: its experiment.
        undone: one line per thing rolled back.
        complete: everything was rolled back (its state file is gone).
        problem: why not, when not.
        conflicts: targets changed after the injection, kept as they are (what to merge by hand); the run
            is complete all the same, as nothing is left that recovering again could do.
    """

    run_id: str
    title: str
    undone: tuple[str, ...]
    complete: bool
    problem: str = ""
    conflicts: tuple[str, ...] = ()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _undo_faults(
    faults: list[FaultState], undone: list[str], problems: list[str], conflicts: list[str]
) -> None:
    """Roll back each fault from its undo record, adding a line to `undone`, `problems` or `conflicts`."""
    for fault_state in faults:
        try:
            fault = get_fault(fault_state.type)
            done = fault.rollback(fault.load_undo(fault_state.undo))
        except RollbackConflictError as exc:
            conflicts.append(f"undo {fault_state.type}: {exc}")
            undone.append(f"undo {fault_state.type}: CONFLICT, kept the current state")
            continue
        except (SecloError, OSError, ValueError) as exc:
            problems.append(f"undo {fault_state.type}: {exc}")
            continue
        except Exception as exc:  # a plug-in's bug: reported, and the state file is kept for another try
            problems.append(f"undo {fault_state.type}: {type(exc).__name__}: {exc}")
            continue
        undone.append(f"undo {fault_state.type}: {done or 'nothing left to undo'}")


def _recover(found: StateFile, workspace: Workspace, folder: Path) -> Recovery:
    state = found.state
    clock = Clock()
    undone: list[str] = []
    problems: list[str] = []
    conflicts: list[str] = []
    journal = None
    redactor = Redactor(())
    try:
        loaded = load_experiment(Path(state.experiment))
        variables = resolve_variables(loaded.experiment).with_injection(state.run_id, state.injected_at)
        redactor = variables.redactor()
        journal = base_journal(loaded.document, __version__)
        context = RunContext(workspace.root, workspace.store_path, folder, state.run_id)
        entries = []
        for step in loaded.experiment.rollbacks:
            activity = (
                step
                if isinstance(step, Activity)
                else next(a for a in loaded.experiment.activities() if a.name == step.ref)
            )
            ran = execute(activity, variables, context, clock)
            entries.append(ran.journal())
            undone.append(f"rollback {activity.name}: {ran.status}")
        journal["rollbacks"] = entries
    except SecloError as exc:
        problems.append(f"the experiment's own rollbacks could not run: {exc}")
    _undo_faults(state.faults, undone, problems, conflicts)
    complete = not problems
    if complete:
        remove_state(folder, state.run_id)
    now = clock.now()
    started = datetime.fromisoformat(state.started_at.replace("Z", "+00:00"))
    injected = datetime.fromisoformat(state.injected_at.replace("Z", "+00:00")) if state.injected_at else None
    result = RunResult(
        run_id=state.run_id,
        title=state.title,
        verdict="aborted",
        status="interrupted",
        reason="the run was killed; recovered by `seclo experiment recover`"
        + "".join(f"; rollback conflict: {c}" for c in conflicts),
        fault=state.faults[0].type if state.faults else None,
        technique=None,
        timings=Timings(started_at=started, ended_at=now, injected_at=injected, rolled_back_at=now),
        journal=Path(state.journal),
        name=Path(state.experiment).stem,
        conflict="; ".join(conflicts),
    )
    if journal is not None and not Path(state.journal).exists():
        journal.update(
            start=state.started_at,
            end=iso_ms(now),
            status="interrupted",
            run_id=state.run_id,
            verdict="aborted",
            reason=result.reason,
            timings=timings_document(result.timings),
            recovered_at=iso_ms(now),
            recovery=undone,
        )
        if conflicts:
            journal["rollback_conflict"] = "; ".join(conflicts)
        Path(state.journal).parent.mkdir(parents=True, exist_ok=True)
        write_journal(Path(state.journal), journal, redactor)
        try:
            record_run(workspace.store_path, result)
        except StoreError as exc:
            problems.append(f"not recorded in the store: {exc}")
    return Recovery(state.run_id, state.title, tuple(undone), complete, "; ".join(problems), tuple(conflicts))


def recover_runs(workspace: Workspace) -> list[Recovery]:
    """Roll back every run that left a state file and whose process is gone.

    A run whose process is still alive is left alone (it will roll back itself).
    """
    folder = workspace.experiments_folder / "state"
    results: list[Recovery] = []
    for found in pending_runs(folder):
        if _alive(found.state.pid) and found.state.pid != os.getpid():
            results.append(
                Recovery(
                    found.state.run_id, found.state.title, (), False, f"still running (pid {found.state.pid})"
                )
            )
            continue
        results.append(_recover(found, workspace, folder))
    return results
