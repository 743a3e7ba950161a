"""Experiment files: Chaos Toolkit experiments as they are, seclo's fields, and errors with file and line."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from seclo.errors import ConfigError, ExperimentError
from seclo.experiments import load_experiment, plan_run, run_plan
from seclo.experiments.model import RangeTolerance, RegexTolerance
from seclo.experiments.scheduler import next_delay
from seclo.experiments.tolerance import within_tolerance
from seclo.experiments.variables import Variables, resolve_variables, substitute
from seclo.workspace import Workspace, init_workspace

# A Chaos Toolkit experiment as chaostoolkit's documentation writes them: process, http and python providers.
CHAOSTOOLKIT_JSON = {
    "version": "1.0.0",
    "title": "The file system survives",
    "description": "Chaos Toolkit experiment run unchanged.",
    "tags": ["fs"],
    "configuration": {"greeting": {"type": "env", "key": "CTK_GREETING", "default": "hello"}},
    "secrets": {"app": {"token": {"type": "env", "key": "CTK_TOKEN"}}},
    "steady-state-hypothesis": {
        "title": "echo works",
        "probes": [
            {
                "type": "probe",
                "name": "echo-ok",
                "tolerance": 0,
                "provider": {"type": "process", "path": "echo", "arguments": "${greeting}"},
            },
            {
                "type": "probe",
                "name": "cwd-is-text",
                "tolerance": {"type": "regex", "pattern": "/"},
                "provider": {"type": "python", "module": "os", "func": "getcwd"},
            },
        ],
    },
    "method": [
        {
            "type": "action",
            "name": "print-token",
            "provider": {"type": "process", "path": "echo", "arguments": ["token=${token}"]},
            "pauses": {"after": 0},
        },
        {"ref": "echo-ok"},
    ],
    "rollbacks": [
        {"type": "action", "name": "noop", "provider": {"type": "python", "module": "os", "func": "getpid"}}
    ],
}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A new workspace."""
    init_workspace(tmp_path / "ws")
    return Workspace.open(tmp_path / "ws")


def test_a_chaos_toolkit_experiment_runs_as_it_is_and_its_secret_never_reaches_the_journal(
    ws: Workspace,
) -> None:
    """A CTK JSON experiment runs to `passed`; the secret it echoes is *** in the journal."""
    path = ws.root / "experiments" / "ctk.json"
    path.write_text(json.dumps(CHAOSTOOLKIT_JSON, indent=2))
    env = {"CTK_TOKEN": "s3cr3t-xyz-123"}
    result = run_plan(plan_run(load_experiment(path), ws, env=env))
    assert result.verdict == "passed", result.reason
    text = result.journal.read_text()
    assert "s3cr3t-xyz-123" not in text
    journal = json.loads(text)
    assert journal["run"][0]["output"]["stdout"] == "token=***\n"
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    assert [r["activity"]["name"] for r in journal["run"]] == ["print-token", "echo-ok"]
    assert {
        "chaoslib-version",
        "platform",
        "node",
        "experiment",
        "start",
        "end",
        "duration",
        "status",
    } <= set(journal)


def test_a_missing_secret_is_an_error_naming_the_variable(ws: Workspace) -> None:
    """A secret from an unset environment variable stops the run before anything happens."""
    path = ws.root / "experiments" / "ctk.json"
    path.write_text(json.dumps(CHAOSTOOLKIT_JSON))
    with pytest.raises(ExperimentError, match="CTK_TOKEN"):
        plan_run(load_experiment(path), ws, env={})


@pytest.mark.parametrize(
    ("text", "line", "where"),
    [
        (
            "title: t\nmethod: []\nfault:\n  type: listening_port\n  targte: x\n",
            4,
            "fault.target: Field required",
        ),
        ("title: t\nfault:\n  type: no_such_fault\n  target: x\n", 3, "fault.type"),
        (
            "title: t\nfault: {type: listening_port, target: '127.0.0.1:1'}\ndetection:\n  deadline: 1s\n"
            "  probe:\n    provider:\n      type: seclo\n      probe: tcp_port\n      arguments:\n        prot: 1\n",
            10,
            "detection.probe.provider.arguments.prot",
        ),
        (
            "title: t\nfault: {type: listening_port, target: x}\ndetection: {deadline: soon, probe: {}}\n",
            3,
            "detection",
        ),
    ],
)
def test_errors_name_the_file_line_and_yaml_path(tmp_path: Path, text: str, line: int, where: str) -> None:
    """Mistakes are reported as file:line: yaml.path: problem."""
    path = tmp_path / "e.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert f"{path}:{line}: {where}" in str(caught.value)


def test_placeholders_take_the_values_type_and_injection_facts() -> None:
    """${port} alone keeps its int type; inside text it is formatted; injection facts are available."""
    variables = Variables({"port": 8080}, {"s": {"token": "t"}}).with_injection("abc", "2026", {"user": "u"})
    assert substitute("${port}", variables) == 8080
    assert substitute(["p=${port} ${token}", {"k": "${injection.user}-${injection.id}"}], variables) == [
        "p=8080 t",
        {"k": "u-abc"},
    ]
    assert substitute("${unknown}", variables) == "${unknown}"


def test_env_configuration_is_converted_to_its_declared_type(tmp_path: Path) -> None:
    """`env_var_type: int` turns the environment's text into a number."""
    path = tmp_path / "e.yaml"
    path.write_text(
        "title: t\nconfiguration: {n: {type: env, key: N, env_var_type: int}}\n"
        "method: [{type: action, name: a, provider: {type: python, module: os, func: getpid}}]\n"
    )
    assert resolve_variables(load_experiment(path).experiment, {"N": "42"}).configuration == {"n": 42}


def test_tolerances_follow_chaos_toolkit() -> None:
    """Status codes, ranges and regexes are judged as chaoslib judges them."""
    assert within_tolerance(200, {"status": 200, "body": ""})
    assert not within_tolerance([200, 204], {"status": 500})
    assert within_tolerance([1, 5], 3)
    assert within_tolerance(RegexTolerance(type="regex", pattern="ok", target="body"), {"body": "all ok"})
    assert within_tolerance(RangeTolerance(type="range", range=(0, 1)), "0.5")
    assert within_tolerance(True, True)


def test_jitter_stays_within_its_bound() -> None:
    """Each continuous-mode delay is the interval plus at most the jitter."""
    rng = random.Random(1)  # noqa: S311 - reproducible jitter, not a secret
    delays = [next_delay(3600, 300, rng) for _ in range(1000)]
    assert min(delays) >= 3600
    assert max(delays) <= 3900
    assert next_delay(60, 0, rng) == 60


def test_background_method_activities_run_and_are_journaled_in_file_order(ws: Workspace) -> None:
    """A `background: true` action runs beside the next ones (here it waits for a file the next one creates);
    the journal lists every method activity in the order of the file, each with its own output."""
    flag = ws.root / "flag"
    wait = f"-c 'for i in $(seq 500); do [ -e {flag} ] && echo slow && exit 0; sleep 0.01; done; exit 1'"
    experiment = {
        "title": "background",
        "method": [
            {
                "type": "action",
                "name": "slow",
                "background": True,
                "provider": {"type": "process", "path": "sh", "arguments": wait},
            },
            {
                "type": "action",
                "name": "fast",
                "provider": {"type": "process", "path": "sh", "arguments": f"-c 'touch {flag}; echo fast'"},
            },
        ],
    }
    path = ws.root / "experiments" / "background.json"
    path.write_text(json.dumps(experiment))
    result = run_plan(plan_run(load_experiment(path), ws))
    assert result.verdict == "passed", result.reason
    run = json.loads(result.journal.read_text())["run"]
    assert [(r["activity"]["name"], r["output"]["status"], r["output"]["stdout"]) for r in run] == [
        ("slow", 0, "slow\n"),
        ("fast", 0, "fast\n"),
    ]
