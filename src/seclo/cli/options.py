"""What every command shares: the --workspace option, opening the workspace, ISO 8601 times and the
command's "now" (the one place the command line reads the clock)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from seclo.workspace import Workspace

__all__ = ["cli_now", "open_workspace", "parse_time", "workspace_option"]

F = TypeVar("F", bound=Callable[..., Any])


def workspace_option(func: F) -> F:
    """Add --workspace to a command (default: $SECLO_WORKSPACE, else the current directory)."""
    return click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="SECLO_WORKSPACE",
        default=None,
        help="Workspace folder [default: $SECLO_WORKSPACE or the current directory].",
    )(func)


def open_workspace(path: Path | None) -> Workspace:
    from seclo.workspace import Workspace  # noqa: PLC0415

    return Workspace.open(path)


_EARLIEST, _LATEST = datetime(1900, 1, 1), datetime(9000, 1, 1)


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time as naive UTC; a time without an offset is taken as UTC.

    Only years 1900 to 8999: windows, periods and SLAs reach years back and ahead of the time given, and
    `0001-01-01T00:30:00+01:00` is not even a time once converted to UTC (an OverflowError, not a message).
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2024-03-01T00:00:00Z") from None
    outside = click.BadParameter(f"{value!r} is outside the years 1900 to 8999 seclo computes over")
    try:
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise outside from None
    if not _EARLIEST <= parsed < _LATEST:
        raise outside
    return parsed


def cli_now() -> datetime:
    """The command's "now", as naive UTC: $SECLO_NOW when set, else the clock.

    The one place a command reads the clock for its default time (generate's --end, the demo's end, --at of
    slo status, report and analyze), so tests and reproducible demos pin it with SECLO_NOW=2026-12-07T21:35Z.
    """
    pinned = os.environ.get("SECLO_NOW")
    if pinned:
        try:
            moment = parse_time(pinned)
        except click.BadParameter as exc:
            raise click.UsageError(f"SECLO_NOW: {exc.message}") from None
        assert moment is not None  # noqa: S101 - parsed from a non-empty string
        return moment
    return datetime.now(UTC).replace(tzinfo=None)
