"""Faults and probes by name, and what a run of a plain experiment loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seclo.errors import ConfigError
from seclo.experiments import faults, get_fault, get_probe, probes
from seclo.store import open_store

BUILT_IN_FAULTS = {
    "listening_port",
    "inventory_account",
    "vulnerable_package",
    "config_setting",
    "failed_logins",
    "canary_credential",
}
BUILT_IN_PROBES = {
    "tcp_port",
    "http",
    "log_line",
    "store_query",
    "prometheus_query",
    "alertmanager_alert",
    "process",
}


@pytest.mark.parametrize("name", sorted(BUILT_IN_FAULTS))
def test_each_built_in_fault_is_found_by_its_own_name(name: str) -> None:
    """`fault.type: NAME` gives the fault whose name is NAME, and the full listing agrees."""
    fault = get_fault(name)
    assert fault.name == name
    assert faults()[name] is type(fault)


@pytest.mark.parametrize("name", sorted(BUILT_IN_PROBES))
def test_each_built_in_probe_is_found_by_its_own_name(name: str) -> None:
    """`probe: NAME` gives the probe whose name is NAME, and the full listing agrees."""
    probe = get_probe(name)
    assert probe.name == name
    assert probes()[name] is type(probe)


def test_the_listings_hold_every_built_in() -> None:
    """`faults()` and `probes()` list the documented built-ins (plug-ins may add more)."""
    assert set(faults()) >= BUILT_IN_FAULTS
    assert set(probes()) >= BUILT_IN_PROBES


def test_an_unknown_name_lists_the_known_ones() -> None:
    """A misspelt fault is refused with the names that exist."""
    with pytest.raises(
        ConfigError, match=r"unknown fault 'listening_prot'; known faults are: .*listening_port"
    ):
        get_fault("listening_prot")
    with pytest.raises(ConfigError, match=r"unknown probe 'tcp'; known probes are: .*tcp_port"):
        get_probe("tcp")


def test_a_process_only_experiment_loads_no_fault_probe_or_progress_code(tmp_path: Path) -> None:
    """`seclo experiment run` of a Chaos Toolkit process experiment is recorded, and loads only what it runs
    (no fault or probe module, no YAML parser for JSON, no HTTP client, no progress bars): start-up is most of
    a short run's cost."""
    experiment = {
        "title": "trivial",
        "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
    }
    path = tmp_path / "trivial.json"
    path.write_text(json.dumps(experiment))
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
        "from seclo.cli import main\n"
        f"main(['experiment', 'run', {str(path)!r}, '--workspace', {str(tmp_path)!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "trivial: passed" in done.stdout
    with open_store(tmp_path / ".seclo" / "store.duckdb", read_only=True) as store:
        assert store.conn.execute("SELECT experiment, outcome FROM experiment_runs").fetchall() == [
            ("trivial", "passed")
        ]
    loaded = set(done.stderr.split())
    assert "seclo.experiments.runner" in loaded
    unwanted = {
        m
        for m in loaded
        if m.startswith(("seclo.experiments.faults.", "seclo.experiments.probes.", "rich.progress"))
        and not m.endswith(".interface")
    }
    unwanted |= loaded & {"yaml", "urllib.request", "concurrent.futures", "seclo.experiments.recover"}
    assert unwanted == set()
