"""Render docs/cli.md from the commands' own --help, so the reference cannot drift from the CLI.

Run `python -m seclo.cli_doc > docs/cli.md` after changing a command.
"""

from __future__ import annotations

import click

from seclo.cli import cli

__all__ = ["render_cli_reference"]


def _help(command: click.Command, path: list[str]) -> str:
    with click.Context(
        command,
        info_name=" ".join(path),
        terminal_width=110,
        max_content_width=110,
        help_option_names=["-h", "--help"],
    ) as ctx:
        return command.get_help(ctx)


def render_cli_reference() -> str:
    """The Markdown for docs/cli.md."""
    parts = [
        "# seclo command reference\n",
        "Generated from `seclo --help` by `python -m seclo.cli_doc`; a test keeps it current.\n",
        "```\n" + _help(cli, ["seclo"]) + "\n```\n",
    ]
    group = cli if isinstance(cli, click.Group) else click.Group()
    for name in sorted(group.commands):
        command = group.commands[name]
        parts.append(f"## seclo {name}\n")
        parts.append("```\n" + _help(command, ["seclo", name]) + "\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_cli_reference(), end="")
