"""`seclo init`: create a workspace with starter files."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["init_command"]


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def init_command(directory: Path | None) -> None:
    """Create a workspace: seclo.yaml, the slos/, experiments/, playbooks/ and risk/ folders, and starters
    in them: Security Level Objectives (OpenSLO v1 files), two experiments with the example detector they
    run against, two playbooks and risk scenarios.

    Existing files are left as they are.

    Example: seclo init my-security-slos
    """
    from seclo.workspace import init_workspace  # noqa: PLC0415

    root = directory or Path.cwd()
    created = init_workspace(root)
    for path in created:
        click.echo(f"created {path}")
    if not created:
        click.echo(f"{root.resolve()} is already a workspace; nothing to do")
