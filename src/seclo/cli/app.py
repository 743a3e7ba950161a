"""The `seclo` command group: its subcommands, imported lazily where they are heavy, and `main`, which turns
errors into messages and exit codes.

Exit codes: 0 OK or met, 1 an objective breached, 2 a usage, configuration or input error.
"""

from __future__ import annotations

import importlib
import sys
from typing import ClassVar

import click

from seclo import __version__
from seclo.cli.demo import demo_command
from seclo.cli.experiment import experiment_group
from seclo.cli.importing import generate_command, import_command
from seclo.cli.init import init_command
from seclo.cli.query import query_command
from seclo.cli.report import report_command
from seclo.cli.risk import risk_group
from seclo.cli.serve import serve_command
from seclo.cli.slo import slo_group
from seclo.errors import SecloError

__all__ = ["LazyGroup", "cli", "main"]

# Every command module imports its heavy modules (DuckDB, numpy, pydantic, rich) inside the commands that use them,
# so `--help` and a command pay only for what they run: `seclo slo status` is timed end to end (BENCHMARKS.md).


class LazyGroup(click.Group):
    """A group whose largest subcommand groups live in their own modules, imported only when used (click's
    documented pattern for lazy subcommands), so `seclo experiment run` does not pay for matplotlib."""

    lazy: ClassVar[dict[str, str]] = {
        "analyze": "seclo.cli.analyze:analyze_group",
        "playbook": "seclo.cli.playbook:playbook_group",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, the lazy ones included, in name order."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called `cmd_name`, importing its module first when it is a lazy one."""
        if cmd_name in self.lazy:
            module_name, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.version_option(__version__, prog_name="seclo")
def cli() -> None:
    """seclo: Site Reliability Engineering for security.

    Measure security with objectives and error budgets, run security chaos experiments, automate the
    response, and quantify risk, on the data you already have.
    """


for _command in (
    demo_command,
    experiment_group,
    generate_command,
    import_command,
    init_command,
    query_command,
    report_command,
    risk_group,
    serve_command,
    slo_group,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, mapping seclo errors to a message and exit code 2."""
    try:
        # Without standalone mode click returns a command's exit code (click.exceptions.Exit) instead of exiting.
        code = cli.main(args=argv, prog_name="seclo", standalone_mode=False)
    except SecloError as exc:
        click.echo(f"error: {exc}", err=True)
        if exc.tip:
            click.echo(f"Tip: {exc.tip}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
