"""Console helpers shared by the commands: one rich console, one-line failures, progress.

The console writes to stderr. On a terminal it draws colours and progress bars; anywhere else (a pipe,
a log file, CI) it writes plain text, never hard-wrapped (a long path stays on one line), and progress is
one plain line per step (:class:`netloupe._progress.PlainProgress`).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from .._progress import ProgressLike, pass_callback, progress_bar

__all__ = ["console", "fail", "pass_callback", "print_error", "progress"]


class _Console(Console):
    """A rich console that soft-wraps (leaves lines whole) whenever its output is not a terminal."""

    @property
    def soft_wrap(self) -> bool:
        return not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:  # Console.__init__ assigns it; the property decides
        pass


console: Console = _Console(stderr=True)


def print_error(message: str) -> None:
    """Print ``error: message`` on one line (markup in the message is not interpreted)."""
    console.print("[bold red]error:[/] ", end="", highlight=False)
    console.print(message, markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Inside a command: print one error line and exit with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def progress() -> ProgressLike:
    """Progress with count, elapsed time and ETA: a bar on a terminal (cleared when done), else plain lines."""
    return progress_bar(console, transient=True)
