"""Optional dependencies: one helper, one message.

Everything beyond the base install lives in an extra (``pyproject.toml``). Code that needs such a package
imports it through :func:`require`, which raises :class:`MissingDependency` with one line naming what
needs it and how to get it, e.g. ``t-SNE needs openTSNE: pip install 'netloupe[internals]'``. The CLI
prints that line as ``error: ...`` (exit 2); the demo turns it into a short note in the report.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .errors import NetloupeError

__all__ = ["EXTRAS", "MissingDependency", "install_hint", "require"]

#: import name -> (distribution name, the extra that installs it).
EXTRAS: dict[str, tuple[str, str]] = {
    "sklearn": ("scikit-learn", "internals"),
    "openTSNE": ("openTSNE", "internals"),
    "umap": ("umap-learn", "umap"),
    "wfdb": ("wfdb", "sequence"),
    "pydicom": ("pydicom", "medical"),
    "nibabel": ("nibabel", "medical"),
    "fastapi": ("fastapi", "web"),
    "uvicorn": ("uvicorn", "web"),
    "multipart": ("python-multipart", "web"),
    "ray": ("ray[data]", "ray"),
}


class MissingDependency(NetloupeError, ImportError):
    """An optional package is not installed (the message says which extra installs it)."""


def install_hint(module: str) -> str:
    """``pip install 'netloupe[EXTRA]'`` for an import name (``pip install PACKAGE`` when no extra has it)."""
    top = module.split(".")[0]
    if top in EXTRAS:
        return f"pip install 'netloupe[{EXTRAS[top][1]}]'"
    return f"pip install {top}"


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` saying ``purpose`` needs it and how to get it.

    Args:
        module: the import name (``"openTSNE"``, ``"sklearn.decomposition"``).
        purpose: what needs it, starting the message (``"t-SNE"``, ``"reading WFDB records"``).
    """
    try:
        return import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise  # the package is there but one of its own dependencies is broken: show the real error
        package = EXTRAS.get(top, (top, ""))[0]
        raise MissingDependency(f"{purpose} needs {package}: {install_hint(module)}") from exc
