"""What a dataset run explains: the items of an image folder (recursive) or of a CSV listing.

Every item gets an ``id`` that names its output folder. Ids are derived from the path relative to the
dataset root (so they are the same on every re-run of the same dataset): the file stem for files at
the top of a folder (as :func:`netloupe.explain_images` names them), ``sub_dir_stem`` below it, and a
short hash of the relative path appended only where two paths would otherwise collide.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._typing import PathLikeStr
from ..errors import InputError
from ..io.images import IMAGE_SUFFIXES

__all__ = ["DatasetItem", "discover_items"]

_PATH_COLUMNS = ("path", "image", "file", "filename", "image_path")
_LABEL_COLUMNS = ("label", "class_index", "class", "target")


@dataclass(frozen=True)
class DatasetItem:
    """One image to explain.

    Attributes:
        source: the image file (as listed: absolute, or relative to the working folder).
        id: unique, filesystem-safe name of the item's output folder.
        label: the label given by a CSV listing ('' when none).
    """

    source: str
    id: str
    label: str = ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "image"


def _assign_ids(rel_paths: Sequence[str], full_paths: Sequence[str] | None = None) -> list[str]:
    """Stable unique ids: slug of the relative path without suffix; a path hash only on collisions."""
    bases = [_slug(str(Path(p).with_suffix(""))) for p in rel_paths]
    full_paths = rel_paths if full_paths is None else full_paths
    counts: dict[str, int] = {}
    for b in bases:
        counts[b] = counts.get(b, 0) + 1
    ids = [
        b if counts[b] == 1 else f"{b}-{hashlib.sha1(p.encode()).hexdigest()[:8]}"
        for b, p in zip(bases, full_paths, strict=True)
    ]
    if len(set(ids)) != len(ids):  # the same relative path listed twice
        dup = next(p for p, i in zip(full_paths, ids, strict=True) if ids.count(i) > 1)
        raise InputError(f"dataset: {dup!r} is listed more than once; every image must appear once")
    return ids


def discover_items(
    dataset: PathLikeStr, root: PathLikeStr | None = None, limit: int | None = None
) -> list[DatasetItem]:
    """List the images of ``dataset`` in a stable (sorted or listed) order.

    Args:
        dataset: a folder (searched recursively for image files; hidden files and folders are
            skipped) or a ``.csv`` file whose path column (``path``, ``image``, ``file``,
            ``filename`` or ``image_path``; else the first column) names the images, with an
            optional label column (``label``, ``class_index``, ``class``, ``target``).
        root: folder that relative CSV paths are relative to (default: the CSV's folder).
        limit: keep only the first ``limit`` items.

    Raises:
        InputError: a missing dataset, an empty folder, a CSV without rows.
    """
    path = Path(dataset)
    if not path.exists():
        raise InputError(f"dataset: {path} does not exist; expected an image folder or a .csv listing")
    if limit is not None and limit < 1:
        raise InputError(f"limit: must be >= 1, got {limit}")
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and p.is_file()
        )
        if not files:
            raise InputError(f"dataset: {path} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        files = files[:limit] if limit else files
        rels = [p.relative_to(path).as_posix() for p in files]
        return [DatasetItem(str(f), i) for f, i in zip(files, _assign_ids(rels), strict=True)]
    if path.suffix.lower() != ".csv":
        raise InputError(f"dataset: {path} is neither a folder nor a .csv listing")
    return _from_csv(path, Path(root) if root is not None else path.parent, limit)


def _from_csv(path: Path, root: Path, limit: int | None) -> list[DatasetItem]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise InputError(f"dataset: {path} is empty")
    header = [h.strip().lower() for h in rows[0]]
    has_header = any(h in _PATH_COLUMNS or h in _LABEL_COLUMNS for h in header)
    body = rows[1:] if has_header else rows
    path_col = next((header.index(c) for c in _PATH_COLUMNS if has_header and c in header), 0)
    label_col = next((header.index(c) for c in _LABEL_COLUMNS if has_header and c in header), None)
    body = [r for r in body if r and r[path_col].strip()]
    if not body:
        raise InputError(f"dataset: {path} lists no images")
    body = body[:limit] if limit else body
    sources = [Path(r[path_col].strip()) for r in body]
    full = [s if s.is_absolute() else root / s for s in sources]
    # Relative paths name their items as in a folder; absolute paths by their file name alone.
    keys = [s.name if s.is_absolute() else s.as_posix() for s in sources]
    ids = _assign_ids(keys, [s.as_posix() for s in sources])
    labels = [r[label_col].strip() if label_col is not None and label_col < len(r) else "" for r in body]
    return [DatasetItem(str(f), i, lab) for f, i, lab in zip(full, ids, labels, strict=True)]
