"""The command line: one module per command group, each parsing its arguments, calling the library and printing.

`app` holds the `seclo` group and `main` (errors to messages and exit codes); `options` what every command shares.
"""

from __future__ import annotations

from seclo.cli.app import cli, main
from seclo.cli.options import cli_now, workspace_option
from seclo.cli.options import parse_time as _parse_time

__all__ = ["_parse_time", "cli", "cli_now", "main", "workspace_option"]
