"""What a dataset run explains: the items of an image folder (recursive) or of a CSV listing.

Every item gets an ``id`` that names its output folder. An id depends only on the item's own path
relative to the dataset root, never on which other files exist, so adding, removing or renaming other
files never renames an item (a re-run resumes every item it already did):

* a path whose parts use only ``A-Z a-z 0-9 . _ -`` (and do not start with ``.``): the parts joined by
  ``~``, suffix included: ``cat.jpg`` -> ``cat.jpg``, ``n01440764/img_1.JPEG`` -> ``n01440764~img_1.JPEG``;
* any other path: those characters kept (others -> ``_``), then ``+`` and the first 8 hex digits of the
  SHA-1 of the relative path: ``my cat.png`` -> ``my_cat.png+<hash>``.

The two forms cannot meet (only the second holds ``+``; ``~`` only ever stands for ``/``), so two different
paths get two different ids. CSV paths are relative to ``root``; an absolute path outside ``root`` is named
by all its parts (``/data/one.png`` -> ``data~one.png``).
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
from ..io.medical import MEDICAL_SUFFIXES, is_medical_path

__all__ = ["DatasetItem", "discover_items", "item_id"]

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


_CLEAN_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def item_id(rel_path: str) -> str:
    """The id of the item at ``rel_path`` (POSIX, relative to the dataset root); see the module docstring."""
    parts = [p for p in rel_path.split("/") if p not in ("", ".")]
    if parts and all(_CLEAN_PART.fullmatch(p) for p in parts):
        return "~".join(parts)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", "~".join(parts)).strip("._") or "image"
    return f"{readable[:80]}+{hashlib.sha1(rel_path.encode()).hexdigest()[:8]}"


def _assign_ids(rel_paths: Sequence[str]) -> list[str]:
    """:func:`item_id` of each path; a path listed twice is refused."""
    ids = [item_id(p) for p in rel_paths]
    seen: dict[str, str] = {}
    for path, ident in zip(rel_paths, ids, strict=True):
        if ident in seen:
            raise InputError(f"dataset: {path!r} is listed more than once; every image must appear once")
        seen[ident] = path
    return ids


def discover_items(
    dataset: PathLikeStr, root: PathLikeStr | None = None, limit: int | None = None
) -> list[DatasetItem]:
    """List the inputs of ``dataset`` in a stable (sorted or listed) order.

    Args:
        dataset: a folder (searched recursively for image, DICOM and NIfTI files; hidden files and folders are
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
            if (p.suffix.lower() in IMAGE_SUFFIXES or is_medical_path(p))
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and p.is_file()
        )
        if not files:
            kinds = ", ".join([*sorted(IMAGE_SUFFIXES), *MEDICAL_SUFFIXES])
            raise InputError(f"dataset: {path} holds no image, DICOM or NIfTI files ({kinds})")
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
    keys = [_relative_key(s, root) for s in sources]
    ids = _assign_ids(keys)
    labels = [r[label_col].strip() if label_col is not None and label_col < len(r) else "" for r in body]
    return [DatasetItem(str(f), i, lab) for f, i, lab in zip(full, ids, labels, strict=True)]


def _relative_key(source: Path, root: Path) -> str:
    """A CSV path relative to ``root``; an absolute one outside it keeps all its parts (no anchor)."""
    if not source.is_absolute():
        return source.as_posix()
    try:
        return source.relative_to(root.resolve() if not root.is_absolute() else root).as_posix()
    except ValueError:
        return "/".join(source.parts[1:])
