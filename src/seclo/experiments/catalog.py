"""The workspace's experiments, with their last verdict from the store, for `seclo experiment list`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from seclo.errors import SecloError
from seclo.experiments.loader import list_experiments, load_experiment
from seclo.experiments.state import pending_runs
from seclo.store.connection import open_store
from seclo.workspace import Workspace

__all__ = ["ExperimentEntry", "workspace_experiments"]


@dataclass(frozen=True, slots=True)
class ExperimentEntry:
    """One experiment file.

    Attributes:
        name: the file name without extension (what `seclo experiment run NAME` takes).
        title: its title, or the reason it does not load.
        fault: its fault type.
        technique: its ATT&CK technique id.
        last_run: when it last ran (injection time, UTC), from the store.
        last_verdict: that run's verdict.
    """

    name: str
    title: str
    fault: str
    technique: str
    last_run: datetime | None
    last_verdict: str


_Last = tuple[datetime | None, str]


def _last_runs(workspace: Workspace) -> tuple[dict[str, _Last], dict[str, _Last]]:
    """The latest run and its verdict by experiment file name, and by title for runs recorded without a name
    (before schema V6)."""
    if not workspace.store_path.exists():
        return {}, {}
    try:
        with open_store(workspace.store_path, read_only=True) as store:
            rows = store.conn.execute(
                "SELECT name IS NULL, coalesce(name, experiment),"
                " arg_max(coalesce(injected_at, started_at), coalesce(injected_at, started_at)),"
                " arg_max(outcome, coalesce(injected_at, started_at))"
                " FROM experiment_runs GROUP BY ALL"
            ).fetchall()
    except SecloError:
        return {}, {}
    except Exception:
        return {}, {}
    by_name: dict[str, _Last] = {}
    by_title: dict[str, _Last] = {}
    for untitled, key, at, verdict in rows:
        # The store keeps UTC times without a zone (DuckDB TIMESTAMP); say they are UTC.
        (by_title if untitled else by_name)[str(key)] = (
            None if at is None else at.replace(tzinfo=UTC),
            str(verdict),
        )
    return by_name, by_title


def _latest(*found: _Last | None) -> _Last:
    known = [f for f in found if f is not None]
    if not known:
        return None, ""
    return max(known, key=lambda f: f[0] or datetime.min.replace(tzinfo=UTC))


def workspace_experiments(workspace: Workspace) -> tuple[list[ExperimentEntry], tuple[str, ...]]:
    """Every experiment in experiments/, and the ids of runs awaiting `recover`."""
    by_name, by_title = _last_runs(workspace)
    entries: list[ExperimentEntry] = []
    for path in list_experiments(workspace.root / "experiments"):
        try:
            exp = load_experiment(path).experiment
        except SecloError as exc:
            entries.append(ExperimentEntry(path.stem, f"(invalid: {exc})", "", "", None, ""))
            continue
        at, verdict = _latest(by_name.get(path.stem), by_title.get(exp.title))
        fault = exp.fault.type if exp.fault else ""
        technique = (exp.fault.technique or "") if exp.fault else ""
        entries.append(ExperimentEntry(path.stem, exp.title, fault, technique, at, verdict))
    pending = tuple(s.state.run_id for s in pending_runs(workspace.experiments_folder / "state"))
    return entries, pending
