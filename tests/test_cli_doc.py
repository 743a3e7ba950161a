"""docs/cli.md stays in step with the commands."""

from __future__ import annotations

from pathlib import Path

from seclo.cli.doc import render_cli_reference

DOC = Path(__file__).parents[1] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    """The checked-in CLI reference is what --help prints now (regenerate it if this fails)."""
    assert DOC.read_text(encoding="utf-8") == render_cli_reference(), (
        "run: python -m seclo.cli.doc > docs/cli.md"
    )


def test_every_command_has_an_example() -> None:
    """Each command's help shows an example, as users copy from help first."""
    text = render_cli_reference()
    sections = text.split("## seclo ")[1:]
    assert sections
    for section in sections:
        assert "Example:" in section, section.splitlines()[0]


def test_lazily_loaded_groups_are_documented() -> None:
    """The groups loaded only when used (analyze, playbook) have their sections like every other command."""
    text = render_cli_reference()
    for name in ("analyze together", "playbook verify-audit", "playbook listen"):
        assert f"## seclo {name}\n" in text
