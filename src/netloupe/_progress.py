"""Progress reporting (on stderr) shared by the library's long loops and the CLI.

On a terminal: a rich progress bar (description, bar, count, elapsed time, ETA). Anywhere else (a pipe, a
log file, CI): one plain line per step, never redrawn and never wrapped, e.g.
``explaining: 3/10 (30%), 12 s elapsed, eta 28 s``, at most one line per ``min_interval`` seconds except
the first and the last step. Both have the same small API: ``add_task``, ``advance``, ``update``, used as
a context manager.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PlainProgress", "ProgressLike", "pass_callback", "progress_bar", "track"]

T = TypeVar("T")


class ProgressLike(Protocol):
    """What the commands use of a progress display (rich's ``Progress`` and :class:`PlainProgress`)."""

    def add_task(self, description: str, start: bool = True, total: float | None = 100.0, **fields: Any) -> Any: ...

    def advance(self, task_id: Any, advance: float = 1) -> None: ...

    def update(self, task_id: Any, **kwargs: Any) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> Any: ...


@dataclass
class _Task:
    description: str
    total: float | None
    completed: float = 0.0
    started: float = 0.0
    last_print: float = -1.0


class PlainProgress:
    """Line-per-step progress for output that is not a terminal (see the module docstring).

    Args:
        file: where to write (default: ``sys.stderr`` at the time of writing).
        min_interval: seconds between two lines of the same task (the first and last step always print).
        clock: a monotonic clock (tests pass a fake one).
    """

    def __init__(
        self, file: IO[str] | None = None, min_interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._file = file
        self._min_interval = min_interval
        self._clock = clock
        self._tasks: list[_Task] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> None:
        return None

    def add_task(self, description: str, start: bool = True, total: float | None = 100.0, **fields: Any) -> int:
        self._tasks.append(_Task(description, total, started=self._clock()))
        return len(self._tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(
        self,
        task_id: int,
        *,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        **_: Any,
    ) -> None:
        task = self._tasks[task_id]
        if total is not None:
            task.total = total
        if description is not None:
            task.description = description
        before = task.completed
        if completed is not None:
            task.completed = completed
        if advance is not None:
            task.completed += advance
        if task.completed != before:
            self._maybe_print(task)

    def _maybe_print(self, task: _Task) -> None:
        now = self._clock()
        done = task.total is not None and task.completed >= task.total
        first = task.last_print < 0
        if not (done or first or now - task.last_print >= self._min_interval):
            return
        task.last_print = now
        print(self.line(task, now), file=self._file or sys.stderr, flush=True)

    @staticmethod
    def line(task: _Task, now: float) -> str:
        """``description: done/total (pct), N s elapsed, eta M s`` (no ETA before the first step)."""
        elapsed = now - task.started
        count = _number(task.completed)
        if task.total is None or task.total <= 0:
            return f"{task.description}: {count}, {elapsed:.0f} s elapsed"
        pct = 100.0 * task.completed / task.total
        text = f"{task.description}: {count}/{_number(task.total)} ({pct:.0f}%), {elapsed:.0f} s elapsed"
        if 0 < task.completed < task.total:
            eta = elapsed / task.completed * (task.total - task.completed)
            text += f", eta {eta:.0f} s"
        return text


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def progress_bar(console: Console | None = None, transient: bool = False) -> ProgressLike:
    """A rich progress bar on a terminal, else :class:`PlainProgress` writing to the console's file."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console or Console(stderr=True)
    if not console.is_terminal:
        return PlainProgress(file=None if console.stderr else console.file)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def pass_callback(bar: ProgressLike, description: str = "passes") -> Callable[[int, int], None]:
    """An ``on_pass(done, total)`` callback (perturbation methods such as Score-CAM) drawing its own task.

    The task starts now (its total unknown) and takes the total the engine reports with the first call;
    it shows passes done, elapsed time and an ETA.
    """
    task = bar.add_task(description, total=None)

    def on_pass(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return on_pass


def track(items: Iterable[T], total: int, description: str, enabled: bool) -> Iterator[T]:
    """Yield ``items``; with ``enabled`` show progress (a bar on a terminal, plain lines elsewhere)."""
    if not enabled:
        yield from items
        return
    with progress_bar() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
