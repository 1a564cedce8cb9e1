"""Bounding the heavy work of the web app: how many requests decode or explain at once, and stopping work.

* :class:`HeavySlots`: at most ``slots`` heavy requests (decoding an upload, explaining) run at the same
  time, at most ``queue`` more wait for a slot; beyond that a request gets 503 at once. Waits end at the
  request's deadline (503) and the slot is released when the work itself ends, not when the client gave up.
* :func:`wait_for_lock`: acquire a model's lock before the request's deadline (or its cancellation).
* :func:`cancel_on_forward`: while it is active, every module call of the model first checks the
  request's cancel event and raises :class:`RequestCancelled` when it is set. A request that timed out
  therefore stops at the next layer call (every perturbation batch is many layer calls) and gives the
  model's lock back, instead of holding it until the whole explanation is done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn

from ._errors import ApiError

__all__ = ["HeavySlots", "RequestCancelled", "cancel_on_forward", "wait_for_lock"]

_POLL_S = 0.05


class RequestCancelled(Exception):
    """Raised inside the worker thread of a request whose client was already answered (timeout)."""


def _wait(acquire: Any, deadline: float, cancel: threading.Event | None, message: str) -> None:
    """Call ``acquire(timeout=...)`` in short steps until it succeeds, the deadline passes or ``cancel`` is set."""
    while True:
        if cancel is not None and cancel.is_set():
            raise RequestCancelled(message)
        left = deadline - time.monotonic()
        if left <= 0:
            raise ApiError(503, message)
        if acquire(timeout=min(_POLL_S, left)):
            return


def wait_for_lock(lock: threading.Lock, deadline: float, cancel: threading.Event | None, what: str) -> None:
    """Acquire ``lock`` before ``deadline`` (``time.monotonic()``); 503 naming ``what`` when it stays busy."""
    _wait(lock.acquire, deadline, cancel, f"{what} stayed busy until the request's time limit; try again")


class HeavySlots:
    """At most ``slots`` heavy requests at once, at most ``queue`` waiting; the rest get 503 at once."""

    def __init__(self, slots: int, queue: int) -> None:
        if slots < 1 or queue < 0:
            raise ValueError(f"slots must be >= 1 and queue >= 0, got {slots} and {queue}")
        self.slots = slots
        self.queue = queue
        self._sem = threading.BoundedSemaphore(slots)
        self._count = threading.Lock()
        self._waiting = 0
        self._running = 0

    @property
    def running(self) -> int:
        """Heavy requests holding a slot now."""
        with self._count:
            return self._running

    @contextmanager
    def hold(self, deadline: float, cancel: threading.Event | None = None) -> Iterator[None]:
        """Run the body in a slot (call from the worker thread that does the work)."""
        with self._count:
            if self._sem.acquire(blocking=False):
                got = True
            elif self._waiting >= self.queue:
                raise ApiError(
                    503,
                    f"server: busy ({self.slots} heavy requests running, {self._waiting} waiting); try again shortly",
                )
            else:
                got = False
                self._waiting += 1
        if not got:
            try:
                _wait(self._sem.acquire, deadline, cancel, "server: busy until the request's time limit; try again")
            finally:
                with self._count:
                    self._waiting -= 1
        with self._count:
            self._running += 1
        try:
            yield
        finally:
            with self._count:
                self._running -= 1
            self._sem.release()


@contextmanager
def cancel_on_forward(model: nn.Module, cancel: threading.Event | None) -> Iterator[None]:
    """While active, each call of any submodule of ``model`` raises :class:`RequestCancelled` once ``cancel`` is set.

    The hooks are forward *pre*-hooks registered for this call only and removed in ``finally``; they read
    nothing and change nothing, so the explanation is identical when ``cancel`` is never set.
    """
    if cancel is None:
        yield
        return

    def check(_module: nn.Module, _inputs: Any) -> None:
        if cancel.is_set():
            raise RequestCancelled("request: cancelled after its time limit")

    handles = [m.register_forward_pre_hook(check) for m in model.modules()]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
