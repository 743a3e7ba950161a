"""File modes: reports and rules are written like any new file (0666 less the umask); journals stay 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from seclo.atomic import write_text_atomic
from seclo.cli import main
from seclo.experiments.journal import write_journal
from seclo.experiments.variables import Redactor
from seclo.store import open_store
from seclo.store.sql import run
from seclo.workspace import Workspace, init_workspace


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask for the test, restored after it."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask_022")
def test_html_report_and_rules_are_0644_under_umask_022(tmp_path: Path) -> None:
    """`seclo report --html` and `seclo slo rules --out` write files others can read (0644), like any tool."""
    root = tmp_path / "ws"
    init_workspace(root)
    with open_store(Workspace.open(root).store_path) as store:
        run(
            store.conn,
            "INSERT INTO auth_events (time, outcome) VALUES (TIMESTAMP '2024-03-01 10:00', 'success')",
        )
    report, rules = tmp_path / "report.html", tmp_path / "rules.yaml"
    assert _run(["report", "--html", str(report), "--at", "2024-03-02T00:00:00Z", "-w", str(root)]) == 0
    assert _run(["slo", "rules", "--out", str(rules), "-w", str(root)]) == 0
    assert _mode(report) == 0o644
    assert _mode(rules) == 0o644
    assert _mode(root / "seclo.yaml") == 0o644
    assert _mode(root / "slos" / "mfa-coverage.yaml") == 0o644


def test_shared_files_follow_a_stricter_umask(tmp_path: Path) -> None:
    """Under umask 077 a shared file is 0600 too: seclo never widens what the user's umask allows."""
    previous = os.umask(0o077)
    try:
        write_text_atomic(tmp_path / "page.html", "<p>hi</p>", shared=True)
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "page.html") == 0o600


@pytest.mark.usefixtures("umask_022")
def test_journals_and_other_files_stay_0600(tmp_path: Path) -> None:
    """An experiment journal (it may hold what a run saw) and any file not marked shared are owner-only."""
    write_journal(tmp_path / "run.json", {"run_id": "r1"}, Redactor(()))
    write_text_atomic(tmp_path / "state.json", "{}")
    assert _mode(tmp_path / "run.json") == 0o600
    assert _mode(tmp_path / "state.json") == 0o600
