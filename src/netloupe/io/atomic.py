"""One way to write a file so that it either exists complete under its final name or not at all.

Every writer in netloupe goes through :func:`atomic_write`: the content goes to a hidden temporary
file in the same folder (same filesystem), which is then renamed into place with ``os.replace``
(atomic on POSIX and Windows). A crash or an exception leaves no half-written file behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PART_SUFFIX", "atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]

PART_SUFFIX = ".part"


def _temporary(path: Path, keep_suffix: bool = False) -> Path:
    if keep_suffix:  # ".x.png" -> ".x.<pid>.part.png": writers that pick the format from the name still can
        suffixes = ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix
        stem = path.name[: len(path.name) - len(suffixes)]
        return path.with_name(f".{stem}.{os.getpid()}{PART_SUFFIX}{suffixes}")
    return path.with_name(f".{path.name}.{os.getpid()}{PART_SUFFIX}")


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[Path], object], *, keep_suffix: bool = False
) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, then rename it to ``path``; returns ``path``.

    The temporary file is removed when ``write`` raises, and the exception propagates. With
    ``keep_suffix`` the temporary name ends with the final suffix (``.png``, ``.npz``, ``.nii.gz``), for
    writers that choose the format from the name (matplotlib, PIL, nibabel) or append one (numpy).
    """
    final = Path(path)
    tmp = _temporary(final, keep_suffix)
    try:
        write(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (non-JSON values such as paths become strings)."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=str))
