"""Progress and cancellation for the extra forward passes of perturbation methods.

Score-CAM, Ablation-CAM and Smooth Grad-CAM++ run many extra passes after the shared one. The engine
plans their number first (:meth:`CAMMethod.extra_passes`), then the methods call :meth:`Passes.step`
after each batch: it reports ``(done, total)`` and stops the work when a cancel flag is set.

>>> seen = []
>>> passes = Passes(on_pass=lambda done, total: seen.append((done, total)))
>>> passes.plan(2)
>>> passes.step(); passes.step()
>>> seen
[(1, 2), (2, 2)]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ..errors import Cancelled

__all__ = ["CancelFlag", "OnPass", "Passes"]

#: Called after each batch of extra passes with ``(passes done, passes total)``.
OnPass = Callable[[int, int], None]


@runtime_checkable
class _EventLike(Protocol):
    def is_set(self) -> bool: ...


#: A ``threading.Event`` (or anything with ``is_set()``), or a callable returning True to cancel.
CancelFlag = _EventLike | Callable[[], bool]


class Passes:
    """Counts extra passes, reports them and raises :class:`~netloupe.errors.Cancelled` when asked to stop.

    Args:
        on_pass: progress callback ``(done, total)``, called after every batch of extra passes.
        cancel: checked before the work starts and after every batch.
    """

    def __init__(self, on_pass: OnPass | None = None, cancel: CancelFlag | None = None) -> None:
        if on_pass is not None and not callable(on_pass):
            raise TypeError(f"on_pass: expected a callable (done, total), got {type(on_pass).__name__}")
        if cancel is not None and not (isinstance(cancel, _EventLike) or callable(cancel)):
            raise TypeError(f"cancel: expected a threading.Event or a callable, got {type(cancel).__name__}")
        self.on_pass = on_pass
        self.cancel = cancel
        self.done = 0
        self.total = 0

    def plan(self, n: int) -> None:
        """Announce ``n`` more batches of extra passes."""
        self.total += n

    def cancelled(self) -> bool:
        """Whether the cancel flag is set."""
        if self.cancel is None:
            return False
        if isinstance(self.cancel, _EventLike):
            return bool(self.cancel.is_set())
        return bool(self.cancel())

    def check(self) -> None:
        """Raise :class:`Cancelled` if the cancel flag is set."""
        if self.cancelled():
            raise Cancelled(f"explain: cancelled after {self.done} of {self.total} extra passes")

    def step(self) -> None:
        """One batch of extra passes is done: report it, then stop if cancelled."""
        self.done += 1
        if self.on_pass is not None:
            self.on_pass(self.done, max(self.total, self.done))
        self.check()
