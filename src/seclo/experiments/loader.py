"""Reading experiment files (YAML, or Chaos Toolkit's JSON) with errors that name file, line and YAML path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from seclo.errors import ConfigError, SecloError
from seclo.experiments.model import Activity, Experiment, SecloProvider, Step
from seclo.experiments.registry import get_fault, get_probe
from seclo.userfile import format_loc, read_user_text, validation_problem, yaml_error, yaml_path_line

__all__ = ["EXTENSIONS", "LoadedExperiment", "find_experiment", "list_experiments", "load_experiment"]

EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class LoadedExperiment:
    """A validated experiment, the document it came from (copied into the journal) and its file."""

    experiment: Experiment
    document: dict[str, Any]
    path: Path


def _fail(path: Path, text: str, loc: tuple[int | str, ...], message: str) -> ConfigError:
    line = yaml_path_line(text, loc)
    where = f":{line}" if line is not None else ""
    return ConfigError(f"{path}{where}: {format_loc(loc)}: {message}")


def _has_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_placeholder(v) for v in value)
    return False


def _check_params(
    model: type[BaseModel], data: dict[str, Any], where: tuple[int | str, ...], path: Path, text: str
) -> None:
    """Validate plug-in parameters now, except those whose values are only known at run time (`${...}`)."""
    literal = {k: v for k, v in data.items() if not _has_placeholder(v)}
    try:
        model.model_validate(literal)
    except ValidationError as exc:
        # An unknown key is usually the cause of a "missing" one (a typo), so report it first.
        for err in sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden"):
            if err["type"] == "missing" and err["loc"] and err["loc"][0] in data:
                continue  # written with a placeholder: checked once substituted
            raise _fail(path, text, (*where, *err["loc"]), err["msg"].removeprefix("Value error, ")) from None


def _check_steps(steps: list[Step], where: tuple[int | str, ...], path: Path, text: str) -> None:
    for n, step in enumerate(steps):
        if isinstance(step, Activity):
            _check_activity(step, (*where, n), path, text)


def _check_activity(activity: Activity, where: tuple[int | str, ...], path: Path, text: str) -> None:
    provider = activity.provider
    if not isinstance(provider, SecloProvider):
        return
    try:
        probe = get_probe(provider.probe)
    except ConfigError as exc:
        raise _fail(path, text, (*where, "provider", "probe"), str(exc)) from None
    _check_params(probe.params, provider.arguments, (*where, "provider", "arguments"), path, text)


def _check_plugins(experiment: Experiment, path: Path, text: str) -> None:
    """Faults and seclo probes exist and their parameters fit, with the line of any problem."""
    if experiment.fault is not None:
        try:
            fault = get_fault(experiment.fault.type)
        except ConfigError as exc:
            raise _fail(path, text, ("fault", "type"), str(exc)) from None
        _check_params(fault.params, experiment.fault.parameters, ("fault", "parameters"), path, text)
    hypothesis = experiment.steady_state_hypothesis
    if hypothesis is not None:
        _check_steps(hypothesis.probes, ("steady-state-hypothesis", "probes"), path, text)
    _check_steps(experiment.method, ("method",), path, text)
    _check_steps(experiment.rollbacks, ("rollbacks",), path, text)
    for name in ("detection", "remediation"):
        watch = getattr(experiment, name)
        if watch is not None:
            _check_activity(watch.probe, (name, "probe"), path, text)
    names = {a.name for a in experiment.activities()}
    for section, steps in (("method", experiment.method), ("rollbacks", experiment.rollbacks)):
        for n, step in enumerate(steps):
            if not isinstance(step, Activity) and step.ref not in names:
                raise _fail(path, text, (section, n, "ref"), f"no activity is named {step.ref!r}")


def load_experiment(path: Path) -> LoadedExperiment:
    """Read and validate an experiment file.

    Raises:
        ConfigError: the file is missing, not YAML/JSON, or not a valid experiment; the message names the
            file, the line, the YAML path and what was expected.
    """
    text = read_user_text(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    else:
        import yaml  # noqa: PLC0415 - only YAML files need PyYAML

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise yaml_error(path, exc) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an experiment is a mapping with at least a title and a method or a fault")
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        loc, message = validation_problem(exc)
        raise _fail(path, text, loc, message) from None
    _check_plugins(experiment, path, text)
    return LoadedExperiment(experiment, data, path.resolve())


def list_experiments(folder: Path) -> list[Path]:
    """The experiment files in a folder, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())


def find_experiment(name_or_path: str, folder: Path) -> Path:
    """A file path as given, the experiment called NAME (its file name without extension) in `folder`, or the one
    whose title is NAME (experiment_runs and playbook triggers name experiments by title).

    Raises:
        ConfigError: none exists (the message lists the experiments in the folder).
    """
    given = Path(name_or_path).expanduser()
    if given.is_file():
        return given
    for candidate in list_experiments(folder):
        if name_or_path in {candidate.stem, candidate.name}:
            return candidate
    for candidate in list_experiments(folder):
        try:
            if load_experiment(candidate).experiment.title == name_or_path:
                return candidate
        except SecloError:
            continue
    known = ", ".join(p.stem for p in list_experiments(folder)) or "none"
    raise ConfigError(
        f"no experiment file {name_or_path!r}, and no experiment of that name in {folder} (there: {known})",
        tip="seclo experiment list shows the workspace's experiments",
    )
