"""`seclo experiment list`: the workspace's experiments, their last verdict, and runs awaiting recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from experiment_helpers import new_workspace, run_experiment, seclo_cli, wait_for, write_experiment

from seclo.experiments.clock import iso_ms

LOGINS = """
title: Brute force is detected
fault: {{type: failed_logins, target: var/auth.log, technique: T1110.001, parameters: {{count: 2}}}}
detection:
  deadline: {deadline}
  probe: {{provider: {{type: seclo, probe: log_line, arguments: {{path: var/auth.log, pattern: "{pattern}"}}}}}}
"""

SLOW = """
title: Root login allowed for a while
fault: {type: config_setting, target: etc/sshd_config, parameters: {key: PermitRootLogin, value: "yes"}}
method: [{type: action, name: wait, provider: {type: process, path: sleep, arguments: ["60"]}}]
"""


def test_list_shows_each_experiment_with_its_latest_verdict_and_invalid_files(tmp_path: Path) -> None:
    """Every file is listed by name, with title, fault, technique and the latest run's verdict and time."""
    root = new_workspace(tmp_path / "ws")
    (root / "var").mkdir()
    write_experiment(root, "logins.yaml", LOGINS.format(deadline="10s", pattern="user ${injection.user} "))
    write_experiment(root, "broken.yaml", "title: [unclosed\n")
    write_experiment(
        root,
        "port.json",
        json.dumps(
            {"title": "Port opened", "fault": {"type": "listening_port", "target": "127.0.0.1:18042"}}
        ),
    )
    first = run_experiment(root, "logins.yaml")
    assert first.verdict == "passed", first.reason
    write_experiment(root, "logins.yaml", LOGINS.format(deadline="100ms", pattern="never written"))
    second = run_experiment(root, "logins.yaml")
    assert second.verdict == "detection_missed", second.reason

    listed = seclo_cli(root, "experiment", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert second.timings.injected_at is not None
    by_name = {e["name"]: e for e in document["experiments"]}
    assert list(by_name) == ["broken", "logins", "port"]
    assert by_name["logins"] == {
        "name": "logins",
        "title": "Brute force is detected",
        "fault": "failed_logins",
        "technique": "T1110.001",
        "last_run": iso_ms(second.timings.injected_at),
        "last_verdict": "detection_missed",
    }
    assert by_name["port"]["title"] == "Port opened"
    assert (by_name["port"]["last_run"], by_name["port"]["last_verdict"]) == (None, "")
    assert by_name["broken"]["title"].startswith("(invalid: ")
    assert "broken.yaml:2" in by_name["broken"]["title"]
    assert document["awaiting_recovery"] == []

    table = seclo_cli(root, "experiment", "list", env={**os.environ, "COLUMNS": "250"})
    assert table.returncode == 0, table.stderr
    [row] = [line for line in table.stdout.splitlines() if "│ logins " in line]
    for cell in ("Brute force is detected", "failed_logins", "T1110.001", "detection_missed"):
        assert cell in row
    assert second.timings.injected_at.strftime("%Y-%m-%d %H:%M:%S") in row
    assert "left a fault behind" not in table.stdout


def test_list_names_a_killed_run_awaiting_recovery_until_it_is_recovered(tmp_path: Path) -> None:
    """A run killed after its injection is listed as awaiting `recover`; after `recover` it is not."""
    root = new_workspace(tmp_path / "ws")
    config = root / "etc" / "sshd_config"
    config.parent.mkdir()
    config.write_text("PermitRootLogin no\n")
    write_experiment(root, "slow.yaml", SLOW)
    command = [sys.executable, "-m", "seclo", "experiment", "run", "slow", "--workspace", str(root)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: "yes" in config.read_text(), "the injection")
    finally:
        process.kill()
        process.wait()
    [state] = (root / ".seclo" / "experiments" / "state").glob("*.state.json")
    run_id = json.loads(state.read_text())["run_id"]

    listed = seclo_cli(root, "experiment", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"run {run_id} left a fault behind: run `seclo experiment recover`" in listed.stdout
    assert json.loads(seclo_cli(root, "experiment", "list", "--format", "json").stdout)[
        "awaiting_recovery"
    ] == [run_id]
    assert seclo_cli(root, "experiment", "recover").returncode == 0
    after = json.loads(seclo_cli(root, "experiment", "list", "--format", "json").stdout)
    assert after["awaiting_recovery"] == []
    [entry] = after["experiments"]
    assert entry["last_verdict"] == "aborted"
    assert config.read_text() == "PermitRootLogin no\n"


def test_history_follows_the_file_through_a_new_title_and_keeps_same_titled_files_apart(
    tmp_path: Path,
) -> None:
    """Runs are matched to files by file name: a retitled experiment keeps its last verdict, and a second file
    with the same title does not borrow it. A run recorded before schema V6 (no name) still matches by title."""
    root = new_workspace(tmp_path / "ws")
    (root / "var").mkdir()
    write_experiment(root, "logins.yaml", LOGINS.format(deadline="100ms", pattern="never written"))
    missed = run_experiment(root, "logins.yaml")
    assert missed.verdict == "detection_missed", missed.reason
    retitled = LOGINS.format(deadline="100ms", pattern="never written").replace(
        "Brute force is detected", "Brute force on SSH is detected"
    )
    write_experiment(root, "logins.yaml", retitled)
    write_experiment(root, "copy.yaml", LOGINS.format(deadline="100ms", pattern="never written"))
    write_experiment(root, "old.yaml", SLOW)
    store_path = root / ".seclo" / "store.duckdb"
    from seclo.store import open_store  # noqa: PLC0415 - the store is opened only after the runs above

    with open_store(store_path) as store:
        store.conn.execute(
            "INSERT INTO experiment_runs (run_id, experiment, name, injected_at, outcome) "
            "VALUES ('old-run', 'Root login allowed for a while', NULL, '2026-01-02 03:04:05', 'passed')"
        ).fetchall()
    listed = seclo_cli(root, "experiment", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    by_name = {e["name"]: e for e in json.loads(listed.stdout)["experiments"]}
    assert (by_name["logins"]["title"], by_name["logins"]["last_verdict"]) == (
        "Brute force on SSH is detected",
        "detection_missed",
    )
    assert by_name["copy"]["last_verdict"] == ""
    assert (by_name["old"]["last_verdict"], by_name["old"]["last_run"]) == (
        "passed",
        "2026-01-02T03:04:05.000Z",
    )
