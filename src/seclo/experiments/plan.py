"""Planning a run: resolve variables, check faults and probes, and check every target against the allowlist.

Nothing is touched while planning, which is why `--dry-run` is a plan and nothing more.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seclo.errors import ConfigError
from seclo.experiments.context import RunContext
from seclo.experiments.faults.interface import Fault, FaultParams
from seclo.experiments.loader import LoadedExperiment
from seclo.experiments.model import Activity, HttpProvider, ProcessProvider, PythonProvider, Step
from seclo.experiments.registry import get_fault
from seclo.experiments.targets import Allowlist, Target, url_targets
from seclo.experiments.variables import Variables, resolve_variables, substitute
from seclo.userfile import format_loc
from seclo.workspace import Workspace

__all__ = ["Plan", "new_run_id", "plan_run", "workspace_allowlist"]


def new_run_id() -> str:
    """A run (and injection) id: sortable by time, unique, short enough for a user name."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(3)


def workspace_allowlist(workspace: Workspace) -> Allowlist:
    """The allowlist in seclo.yaml, with paths resolved against the workspace."""
    allow = workspace.settings.experiments.allow
    return Allowlist(tuple(allow.hosts), tuple(allow.ports), tuple(workspace.resolve(p) for p in allow.paths))


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked experiment, ready to run.

    Attributes:
        loaded: the experiment and its file.
        run_id: the id this run (and its injection) will have.
        variables: configuration and secrets, with `${injection.id}`.
        context: the workspace, store and state folder faults and probes work in.
        fault: the fault to inject, with its parameters and substituted target.
        targets: everything the run will touch, all within the allowlist.
        journal: where the journal will be written.
    """

    loaded: LoadedExperiment
    run_id: str
    variables: Variables
    context: RunContext
    fault: Fault | None
    fault_params: FaultParams | None
    fault_target: str
    targets: tuple[Target, ...]
    journal: Path
    unchecked: tuple[str, ...]

    def describe(self) -> list[str]:
        """The plan, one line per step, as `--dry-run` prints it (secrets replaced by ***)."""
        redactor = self.variables.redactor()
        return [redactor.text(line) for line in self._lines()]

    def _lines(self) -> list[str]:
        exp = self.loaded.experiment
        lines = [f"experiment: {exp.title} ({self.loaded.path})", f"run id: {self.run_id}"]
        lines += [f"touches: {t}" for t in self.targets] or ["touches: nothing checked by the allowlist"]
        lines += [f"not checked by the allowlist: {u}" for u in self.unchecked]
        if exp.steady_state_hypothesis is not None:
            lines.append(f"1. steady state before: {len(exp.steady_state_hypothesis.probes)} probe(s)")
        if self.fault is not None and exp.fault is not None:
            technique = f" (ATT&CK {exp.fault.technique})" if exp.fault.technique else ""
            lines.append(f"2. inject {self.fault.name} into {self.fault_target}{technique}")
        lines += [f"3. method: {_step_name(s)}" for s in exp.method]
        if exp.detection is not None:
            lines.append(
                f"4. detection: poll {_probe_name(exp.detection.probe)} for {exp.detection.deadline:g} s"
            )
        if exp.remediation is not None:
            lines.append(
                f"5. remediation: poll {_probe_name(exp.remediation.probe)} for {exp.remediation.deadline:g} s"
            )
        if exp.steady_state_hypothesis is not None:
            lines.append("6. steady state after")
        lines += [f"7. rollback: {_step_name(s)}" for s in exp.rollbacks]
        if self.fault is not None:
            lines.append(f"7. rollback: undo {self.fault.name}")
        lines.append(f"journal: {self.journal}; stops after {exp.max_duration:g} s at most")
        return lines


def _step_name(step: Step) -> str:
    return step.name if isinstance(step, Activity) else f"(ref) {step.ref}"


def _probe_name(activity: Activity) -> str:
    provider = activity.provider
    label = provider.probe if provider.type == "seclo" else provider.type
    return f"{activity.name} [{label}]" if activity.name else label


def _action_targets(steps: list[Step], variables: Variables) -> tuple[list[Target], list[str]]:
    targets: list[Target] = []
    unchecked: list[str] = []
    for step in steps:
        if not isinstance(step, Activity) or step.type != "action":
            continue
        provider = step.provider
        if isinstance(provider, HttpProvider):
            targets += url_targets(str(substitute(provider.url, variables)))
        elif isinstance(provider, ProcessProvider | PythonProvider):
            unchecked.append(
                f"{step.name} ({provider.type} action: the allowlist cannot see what it touches)"
            )
    return targets, unchecked


def _fault(
    loaded: LoadedExperiment, variables: Variables, context: RunContext
) -> tuple[Fault, FaultParams, str, list[Target]]:
    spec = loaded.experiment.fault
    assert spec is not None  # noqa: S101 - the caller checked
    fault = get_fault(spec.type)
    raw: Any = substitute(spec.parameters, variables)
    try:
        # Defaults may hold placeholders too (a user name of "chaos-${injection.id}"): substitute them as well.
        written = fault.params.model_validate(raw).model_dump(mode="json", exclude_unset=False)
        params = fault.params.model_validate(substitute(written, variables))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = format_loc(("fault", "parameters", *err["loc"]))
        raise ConfigError(f"{loaded.path}: {where}: {err['msg']}") from None
    target = str(substitute(spec.target, variables))
    try:
        targets = list(fault.targets(target, params, context))
    except ValueError as exc:
        raise ConfigError(variables.redactor().text(f"{loaded.path}: fault.target: {exc}")) from None
    return fault, params, target, targets


def plan_run(
    loaded: LoadedExperiment,
    workspace: Workspace,
    *,
    env: dict[str, str] | None = None,
    ttl: float | None = None,
) -> Plan:
    """Check an experiment against the workspace and plan its run, touching nothing.

    Raises:
        ConfigError: a fault's parameters or target do not fit it.
        ExperimentError: a variable is missing, or a target is outside the allowlist.
    """
    experiment = loaded.experiment
    run_id = new_run_id()
    variables = resolve_variables(experiment, env).with_injection(run_id)
    folder = workspace.experiments_folder
    context = RunContext(
        root=workspace.root,
        store_path=workspace.store_path,
        state_folder=folder / "state",
        injection_id=run_id,
        ttl=ttl if ttl is not None else experiment.max_duration + 60.0,
    )
    fault: Fault | None = None
    params: FaultParams | None = None
    target = ""
    targets: list[Target] = []
    if experiment.fault is not None:
        fault, params, target, targets = _fault(loaded, variables, context)
    more, unchecked = _action_targets([*experiment.method, *experiment.rollbacks], variables)
    targets += more
    workspace_allowlist(workspace).check(tuple(targets))
    return Plan(
        loaded=loaded,
        run_id=run_id,
        variables=variables,
        context=context,
        fault=fault,
        fault_params=params,
        fault_target=target,
        targets=tuple(dict.fromkeys(targets)),
        journal=folder / "journals" / f"{run_id}.json",
        unchecked=tuple(unchecked),
    )
