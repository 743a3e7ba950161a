"""`seclo playbook run` and `evaluate` take the CLI's "now" ($SECLO_NOW) as their default evaluation time."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pinned_clock import PINNED_NOW_TEXT

from seclo.cli import cli


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace from `seclo init` with two weeks of a generated organisation up to the pinned now."""
    root = tmp_path_factory.mktemp("clock") / "ws"
    runner = CliRunner(env={"SECLO_NOW": PINNED_NOW_TEXT})
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    generated = runner.invoke(cli, ["generate", "-w", str(root), "--days", "14", "--seed", "1", "--import"])
    assert generated.exit_code == 0, generated.output
    return root


@pytest.mark.parametrize("command", [["run", "page-on-burn"], ["evaluate"]])
def test_the_pinned_now_is_the_default_time_of_playbook_commands(starter: Path, command: list[str]) -> None:
    """With SECLO_NOW set and no --at, the burn alerts are judged at that moment, as `slo status` judges them:
    the page's dedup key names the pinned time, not the wall clock's."""
    result = CliRunner(env={"SECLO_NOW": PINNED_NOW_TEXT}).invoke(
        cli, ["playbook", *command, "-w", str(starter), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "/page-quick/2026-12-03T21:35:00Z" in result.output
