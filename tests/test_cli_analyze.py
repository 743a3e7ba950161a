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


def test_dora_by_service_month(workspace: Path) -> None:
    """--by service,month shows each service's figures per month, in the JSON document and the table."""
    args = ["analyze", "dora", "-w", str(workspace), "--at", "2024-06-01T00:00:00Z", "--days", "90"]
    runner = CliRunner()
    result = runner.invoke(cli, [*args, "--by", "service,month", "--format", "json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["figures"]
    assert {f["scope"] for f in figures} == {"service_month"}
    months = {f["key"].rsplit("/", 1)[1] for f in figures}
    services = {f["key"].rsplit("/", 1)[0] for f in figures}
    assert months == {"2024-03", "2024-04", "2024-05"}
    assert len(services) > 1
    assert sum(f["deployments"] for f in figures) > 0
    default = json.loads(runner.invoke(cli, [*args, "--format", "json"]).stdout)["figures"]
    assert {f["scope"] for f in default} == {"all", "service", "team", "month"}
    both = runner.invoke(cli, [*args, "--by", "all", "--by", "month,service"])
    assert both.exit_code == 0, both.output
    assert "service_month" in both.output
    assert f"{sorted(services)[0]}/2024-04" in both.output
    wrong = runner.invoke(cli, [*args, "--by", "team,month"])
    assert wrong.exit_code == 2
    assert "service,month" in wrong.output
