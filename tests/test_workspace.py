"""Workspaces: seclo.yaml, folders and settings errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from seclo.errors import ConfigError
from seclo.workspace import CONFIG_NAME, SUBFOLDERS, Workspace, init_workspace


def test_init_creates_config_and_folders(tmp_path: Path) -> None:
    """`init` writes seclo.yaml, the slos, experiments, playbooks and risk folders, and starter SecLOs."""
    root = tmp_path / "ws"
    created = init_workspace(root)
    assert (root / CONFIG_NAME).is_file()
    for name in SUBFOLDERS:
        assert (root / name).is_dir()
    assert root / CONFIG_NAME in created
    assert sorted(p.name for p in (root / "slos").glob("*.yaml")) == [
        "error-budget-policy.yaml",
        "login-success.yaml",
        "mfa-coverage.yaml",
        "mttd.yaml",
        "orphaned-accounts.yaml",
        "patch-latency.yaml",
        "unexpected-public-ports.yaml",
    ]


def test_init_keeps_existing_files(tmp_path: Path) -> None:
    """Running init twice leaves a user's edited seclo.yaml alone."""
    init_workspace(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("timezone: Europe/Berlin\n")
    assert init_workspace(tmp_path) == []
    assert Workspace.open(tmp_path).settings.timezone == "Europe/Berlin"


def test_default_config_round_trips(tmp_path: Path) -> None:
    """The seclo.yaml that init writes loads as the default settings."""
    init_workspace(tmp_path)
    ws = Workspace.open(tmp_path)
    assert ws.settings.sla_days.critical == 7
    assert ws.store_path == tmp_path.resolve() / ".seclo" / "store.duckdb"


def test_environment_variable_selects_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SECLO_WORKSPACE is used when no folder is given."""
    monkeypatch.setenv("SECLO_WORKSPACE", str(tmp_path))
    assert Workspace.open().root == tmp_path.resolve()


def test_unknown_key_names_file_line_and_path(tmp_path: Path) -> None:
    """A misspelt key is refused with the file, the line and the YAML path."""
    (tmp_path / CONFIG_NAME).write_text("timezone: UTC\nstore:\n  path: x.duckdb\n  memroy_limit: 1GB\n")
    with pytest.raises(ConfigError, match=r"seclo\.yaml:4: store\.memroy_limit: Extra inputs"):
        Workspace.open(tmp_path)


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    """A value of the wrong type names what was expected and what was given."""
    (tmp_path / CONFIG_NAME).write_text("sla_days:\n  critical: soon\n")
    with pytest.raises(ConfigError, match=r":2: sla_days\.critical: .*integer.*'soon'"):
        Workspace.open(tmp_path)


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    """A time zone that does not exist is a configuration error, not a silent UTC."""
    (tmp_path / CONFIG_NAME).write_text("timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match="unknown IANA time zone"):
        Workspace.open(tmp_path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    """Broken YAML is reported with its line."""
    (tmp_path / CONFIG_NAME).write_text("timezone: UTC\nstore: [unclosed\n")
    with pytest.raises(ConfigError, match=r"seclo\.yaml:\d+: not valid YAML"):
        Workspace.open(tmp_path)
