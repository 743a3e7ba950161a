"""What the CLI shows from outside data (labels, user names, step output) cannot drive the operator's terminal.

An escape sequence is shown as `\\x1b`, a bidirectional override as `\\u202e`, and rich markup such as `[/]` as
the characters themselves, never as markup (which raised MarkupError on `[/]`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from seclo.cli import main
from seclo.cli.terminal import RichReporter, render_table, terminal_text
from seclo.store import open_store
from seclo.workspace import init_workspace

HOSTILE = "[/] [link=http://evil.example]x[/link] \x1b]0;owned\x07\x1b[2J\rok \u202etxt.exe"


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_a_table_cell_with_markup_and_escapes_is_shown_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    """A query cell holding `[/]`, an escape sequence and a bidi override prints literally, without raising."""
    render_table(None, ["user"], [[HOSTILE]])
    out = capsys.readouterr().out
    assert "[/] [link=http://evil.example]x[/link]" in out
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x0dok \\u202etxt.exe" in out
    assert "\x1b" not in out
    assert "\u202e" not in out


def test_seclo_query_shows_a_hostile_user_name_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`seclo query` of a value with `[/]` and an escape sequence exits 0 and shows both as text."""
    init_workspace(tmp_path)
    open_store(tmp_path / ".seclo" / "store.duckdb").close()
    sql = "SELECT '[/]' || chr(27) || '[2J' AS name"
    assert _run(["query", sql, "-w", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[/]\\x1b[2J" in out
    assert "\x1b" not in out


def test_a_note_quoting_markup_is_printed_as_text() -> None:
    """An importer's note quoting `[/]` from a file is printed, not raised as a MarkupError."""
    console = Console(record=True, width=200)
    RichReporter(console).note("skipped line: [/] \x1b[31m")
    assert "note: skipped line: [/] \\x1b[31m" in console.export_text()


def test_a_playbook_run_shows_step_output_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A step whose output holds an escape sequence (such as a label echoed back) is shown escaped by
    `seclo playbook run`."""
    init_workspace(tmp_path)
    (tmp_path / "playbooks" / "p.yaml").write_text(
        "apiVersion: seclo/v1\nkind: Playbook\nmetadata: {name: p}\nspec:\n  mode: automatic\n"
        "  trigger: {type: manual}\n  steps:\n"
        "    - {name: echo, type: command, args: [printf, '\\033]0;owned\\007\\033[2Jdone']}\n",
        encoding="utf-8",
    )
    assert _run(["playbook", "run", "p", "-w", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "printf exited with 0: \\x1b]0;owned\\x07\\x1b[2Jdone" in out
    assert "\x1b" not in out


@pytest.mark.parametrize(("text", "shown"), [("a\tb\nc", "a\\x09b\\x0ac"), ("é ü 日本", "é ü 日本")])
def test_terminal_text_on_one_line(text: str, shown: str) -> None:
    """On one line tabs and line feeds are escaped too; printable text of any script is kept as it is."""
    assert terminal_text(text) == shown
