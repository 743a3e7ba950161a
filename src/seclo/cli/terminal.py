"""The terminal side of the CLI: a rich progress reporter, tables, and text made safe to show.

Much of what seclo shows comes from outside: alert labels, user names from logs, a step's output. Shown as it
is, an escape sequence in it can retitle, clear or rewrite the operator's terminal (or hide a line behind a
carriage return), and rich would read `[/]` or `[link=...]` in it as markup (a MarkupError, or a link). So
tables take every cell as plain text, and `terminal_text` writes control characters as visible escapes.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["PIPED_WIDTH", "RichReporter", "render_table", "terminal_text", "visible"]

PIPED_WIDTH = 160
# C0 and C1 controls but tab and line feed, DEL, and the bidirectional overrides and isolates (which reorder
# what is shown: "Trojan Source"), and the Unicode line and paragraph separators.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str, *, lines: bool = False) -> str:
    """`text` with every character a terminal would act on written as an escape (`\\x1b`, `\\u202e`).

    Args:
        lines: keep line feeds and tabs (a multi-line cell); otherwise they are escaped too (one line).
    """
    return (_CONTROLS if lines else _LINE_BREAKS).sub(_escape, text)


def visible(value: object) -> Text:
    """`value` as terminal text, shown as it is: never read as rich markup (a user name `[/x]` or
    `[link=...]`), control characters written as escapes (\\x1b); line feeds and tabs kept."""
    return Text(terminal_text(str(value), lines=True))


class RichReporter:
    """Shows progress bars on a terminal and nothing when output is not a TTY; notes always go to stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, task: str, total: float | None = None) -> None:
        """Begin a progress bar for `task`."""
        self.finish()
        if not self.console.is_terminal:
            return
        # Imported here: commands that only print tables (`seclo experiment run`) do not load rich's live display.
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(task, total=total)

    def advance(self, amount: float) -> None:
        """Move the bar forward."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        """Remove the bar."""
        if self._progress is not None:
            self._progress.stop()
        self._progress, self._task = None, None

    def note(self, message: str) -> None:
        """Print a note on stderr."""
        self.console.print(Text("note: ", style="yellow") + visible(message), highlight=False)


def render_table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table to stdout; piped into a file or a test it may be up to 160 columns wide, not folded at 80."""
    table = Table(title=None if title is None else visible(title), title_justify="left")
    for header in headers:
        table.add_column(visible(header), overflow="fold")
    for row in rows:
        table.add_row(*(visible("" if v is None else v) for v in row))
    console = Console(file=sys.stdout)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(file=sys.stdout, width=PIPED_WIDTH)
    console.print(table)
