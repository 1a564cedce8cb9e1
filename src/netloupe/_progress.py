"""Progress bars (rich, on stderr) shared by the library's long loops and the CLI."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["progress_bar", "track"]

T = TypeVar("T")


def progress_bar(console: Console | None = None, transient: bool = False) -> Progress:
    """A progress bar with description, bar, count, elapsed time and ETA."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=transient,
    )


def track(items: Iterable[T], total: int, description: str, enabled: bool) -> Iterator[T]:
    """Yield ``items``; with ``enabled`` show a rich progress bar with count, elapsed time and ETA."""
    if not enabled:
        yield from items
        return
    with progress_bar() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
