"""One exception hierarchy for netloupe.

Every message names the parameter, what is allowed and what was received, so that the CLI can
print it as one line and a library user can act on it without reading the source.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "Cancelled",
    "InputError",
    "LayerNotFound",
    "MethodNotApplicable",
    "ModelLoadError",
    "NetloupeError",
    "TargetError",
    "UnknownMethod",
    "did_you_mean",
]


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """A short hint listing the closest known names, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)
    if not close:
        return ""
    return "; closest: " + ", ".join(repr(c) for c in close)


class NetloupeError(Exception):
    """Base class of every error that netloupe raises on purpose."""


class InputError(NetloupeError, ValueError):
    """An input (tensor, file, image, signal) that cannot be explained as given."""


class LayerNotFound(NetloupeError, KeyError):
    """A layer name that does not exist in the model."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class UnknownMethod(NetloupeError, KeyError):
    """A method name that is not in the registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MethodNotApplicable(NetloupeError, ValueError):
    """A method that cannot explain this model (e.g. CAM without a GAP + linear head)."""


class TargetError(NetloupeError, ValueError):
    """A target (class index, class name, callable) that does not fit the model's output."""


class ModelLoadError(NetloupeError, ValueError):
    """A model that cannot be loaded: unknown name, bad checkpoint, untrusted pickle."""


class Cancelled(NetloupeError):
    """Work stopped on request (a cancel flag set between batches of extra passes, e.g. after a timeout).

    Raised by the CAM engine; hooks are removed and the model's modes restored before it propagates.
    """
