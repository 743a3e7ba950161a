"""Render docs/cli.md from the commands' own --help, so the reference cannot drift from the CLI.

Run `python -m seclo.cli.doc > docs/cli.md` after changing a command.
"""

from __future__ import annotations

import click

from seclo.cli.app import cli

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
        "Generated from `seclo --help` by `python -m seclo.cli.doc`; a test keeps it current.\n",
        "```\n" + _help(cli, ["seclo"]) + "\n```\n",
    ]
    parts += _sections(cli, ["seclo"])
    return "\n".join(parts)


def _sections(group: click.Command, path: list[str]) -> list[str]:
    """A section per subcommand of `group`, depth first, so `seclo slo status` follows `seclo slo`."""
    parts: list[str] = []
    if not isinstance(group, click.Group):
        return parts
    with click.Context(group, info_name=" ".join(path)) as ctx:
        # list_commands/get_command, not .commands: the lazily loaded groups (analyze, playbook) are documented too.
        commands = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    for name, command in sorted(commands.items()):
        if command is None:
            continue
        full = [*path, name]
        parts.append(f"## {' '.join(full)}\n")
        parts.append("```\n" + _help(command, full) + "\n```\n")
        parts += _sections(command, full)
    return parts


if __name__ == "__main__":
    print(render_cli_reference(), end="")
