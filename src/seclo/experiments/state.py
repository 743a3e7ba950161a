"""The state file: written before the injection, removed after a complete rollback.

If a run dies between the two (SIGKILL, a power cut), the state file says what to undo, and `seclo experiment
recover` undoes it. It never holds a secret: faults keep only undo records, and experiment rollbacks are read
again from the experiment file, with secrets from the environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from seclo.atomic import write_text_atomic
from seclo.errors import ExperimentError

__all__ = ["FaultState", "RunState", "StateFile", "pending_runs", "remove_state", "write_state"]


class FaultState(BaseModel):
    """One injected fault: its type and undo record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    undo: dict[str, Any]


class RunState(BaseModel):
    """What a run in progress has touched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    title: str
    experiment: str
    journal: str
    started_at: str
    injected_at: str | None = None
    pid: int
    faults: list[FaultState]


@dataclass(frozen=True, slots=True)
class StateFile:
    """A state file found on disk and what it says."""

    path: Path
    state: RunState


def _path(folder: Path, run_id: str) -> Path:
    return folder / f"{run_id}.state.json"


def write_state(folder: Path, state: RunState) -> Path:
    """Write (or replace) a run's state file atomically."""
    path = _path(folder, state.run_id)
    write_text_atomic(path, json.dumps(state.model_dump(mode="json"), indent=2) + "\n")
    return path


def remove_state(folder: Path, run_id: str) -> None:
    """Forget a run: everything it touched is rolled back."""
    _path(folder, run_id).unlink(missing_ok=True)


def pending_runs(folder: Path) -> list[StateFile]:
    """Runs that started and were never rolled back, oldest first.

    Raises:
        ExperimentError: a state file is damaged (it names the file, which can then be inspected by hand).
    """
    found: list[StateFile] = []
    for path in sorted(folder.glob("*.state.json")) if folder.is_dir() else []:
        try:
            found.append(StateFile(path, RunState.model_validate_json(path.read_text(encoding="utf-8"))))
        except (OSError, ValidationError) as exc:
            raise ExperimentError(f"{path}: damaged experiment state file ({exc})") from None
    return sorted(found, key=lambda s: s.state.started_at)
