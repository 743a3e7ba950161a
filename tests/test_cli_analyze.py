"""`seclo analyze`: every command prints a table, versioned JSON and an HTML page; an empty store is exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from seclo.cli import cli
from seclo.report.html import CSP

sys.path.insert(0, str(Path(__file__).parent / "analytics"))
from analytics_helpers import generated_workspace

COMMANDS = ("persistence", "sla", "kpi", "dora", "together")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated workspace shared by the module's commands (they only read it)."""
    return generated_workspace(tmp_path_factory.mktemp("analyze") / "ws").root


@pytest.mark.parametrize("command", COMMANDS)
def test_json_table_and_html(workspace: Path, tmp_path: Path, command: str) -> None:
    """Each analysis prints its schema-named JSON document, a table, and writes a self-contained page."""
    args = ["analyze", command, "-w", str(workspace), "--at", "2024-06-01T00:00:00Z"]
    runner = CliRunner()
    result = runner.invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == f"seclo.analytics.{command}/v1"
    page = tmp_path / "page.html"
    result = runner.invoke(cli, [*args, "--html", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert CSP in text
    assert "<svg" in text
    assert "http://" not in text.replace("http://www.w3.org", "")


def test_empty_store_is_exit_two(tmp_path: Path) -> None:
    """Without a store the command explains what to import and exits 2, without a traceback."""
    subprocess.run([sys.executable, "-m", "seclo", "init", str(tmp_path)], check=True, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-m", "seclo", "analyze", "persistence", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "error:" in done.stderr
    assert "Traceback" not in done.stderr
