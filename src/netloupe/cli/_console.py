"""Console helpers shared by the commands: one rich console, one-line failures, progress bars."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import Progress

from .._progress import progress_bar

console = Console(stderr=True)

__all__ = ["console", "fail", "print_error", "progress"]


def print_error(message: str) -> None:
    """Print ``error: message`` on one line (markup in the message is not interpreted)."""
    console.print("[bold red]error:[/] ", end="", highlight=False)
    console.print(message, markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Inside a command: print one error line and exit with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def progress() -> Progress:
    """A progress bar with count, rate-based ETA and elapsed time (cleared when done)."""
    return progress_bar(console, transient=True)
