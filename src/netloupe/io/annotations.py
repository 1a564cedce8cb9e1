"""Localization datasets on disk: images with class labels and ground-truth boxes or masks.

Layout (every path may be given explicitly; defaults are relative to the dataset folder)::

    DATASET/images/<image>               the images
    DATASET/labels.csv                   image,<label column>[,mask]   (one row per image)
    DATASET/boxes.csv                    image,x0,y0,x1,y1             (one row per box, any number per image)
    DATASET/masks/<mask>                 binary masks (non-zero = object), named in the labels' mask column

Boxes are in the image file's pixel coordinates, ``x1``/``y1`` exclusive (see
:mod:`netloupe.evaluation.boxes`). Bad rows never stop the run: each problem is recorded as one line
naming the file and the row (boxes outside the image, missing labels, images without boxes, masks
whose size differs from the image, missing files) and the item is skipped.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .._typing import PathLikeStr
from ..errors import InputError

__all__ = ["LocalizationDataset", "LocalizationItem", "load_mask", "read_localization_dataset"]

_BOX_TOLERANCE = 0.5  # pixels: rounded annotations may end at width + 0.01


@dataclass(frozen=True)
class LocalizationItem:
    """One image with its label and ground truth (boxes, a mask, or both)."""

    image: Path
    label: int | None
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    mask: Path | None = None
    size: tuple[int, int] = (0, 0)  #: (width, height) of the image file


@dataclass
class LocalizationDataset:
    """The usable items and one message per skipped item or row."""

    items: list[LocalizationItem]
    skipped: list[str] = field(default_factory=list)
    has_boxes: bool = False
    has_masks: bool = False
    has_labels: bool = False


def _resolve(root: Path, path: PathLikeStr | None, default: str) -> Path | None:
    if path is None:
        candidate = root / default
        return candidate if candidate.exists() else None
    p = Path(path)
    return p if p.is_absolute() or p.exists() else root / p


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def read_localization_dataset(
    root: PathLikeStr,
    *,
    images: PathLikeStr | None = None,
    labels: PathLikeStr | None = None,
    boxes: PathLikeStr | None = None,
    masks: PathLikeStr | None = None,
    label_column: str = "class_index",
    mask_column: str = "mask",
    require_labels: bool = True,
) -> LocalizationDataset:
    """Read and check a localization dataset (see the module docstring for the layout).

    Args:
        root: the dataset folder.
        images: image folder (default ``root/images``, else ``root``).
        labels: labels CSV (default ``root/labels.csv``).
        boxes: boxes CSV (default ``root/boxes.csv`` if present).
        masks: mask folder (default ``root/masks`` if present and the labels have a mask column).
        label_column: the labels CSV column holding the class index.
        mask_column: the labels CSV column holding the mask file name.
        require_labels: skip images without a label (classification error needs them).

    Returns:
        the items in labels-file order (or boxes-file order without labels) and the skipped ones.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"dataset: {root} is not a folder")
    image_dir = _resolve(root, images, "images") or root
    labels_path = _resolve(root, labels, "labels.csv")
    boxes_path = _resolve(root, boxes, "boxes.csv")
    mask_dir = _resolve(root, masks, "masks")
    for name, p in (("labels", labels_path), ("boxes", boxes_path)):
        if p is not None and not p.is_file():
            raise InputError(f"{name}: {p} is not a file")
    if masks is not None and (mask_dir is None or not mask_dir.is_dir()):
        raise InputError(f"masks: {mask_dir} is not a folder")
    skipped: list[str] = []

    label_of: dict[str, int] = {}
    mask_of: dict[str, str] = {}
    order: list[str] = []
    bad_label: set[str] = set()
    if labels_path is not None:
        rows = _read_csv(labels_path, ("image", label_column))
        for i, row in enumerate(rows, start=2):  # row 1 is the header
            name = row["image"]
            try:
                label_of[name] = int(row[label_column])
            except ValueError:
                skipped.append(f"{labels_path.name} row {i}: {name}: label {row[label_column]!r} is not an integer")
                bad_label.add(name)
                continue
            if row.get(mask_column):
                mask_of[name] = row[mask_column]
            order.append(name)
    elif require_labels:
        raise InputError(f"labels: no labels CSV given and {root / 'labels.csv'} does not exist")

    boxes_of: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    box_rows: dict[str, list[int]] = defaultdict(list)
    bad_box: dict[str, str] = {}
    if boxes_path is not None:
        for i, row in enumerate(_read_csv(boxes_path, ("image", "x0", "y0", "x1", "y1")), start=2):
            name = row["image"]
            try:
                box = (float(row["x0"]), float(row["y0"]), float(row["x1"]), float(row["y1"]))
            except ValueError:
                bad_box.setdefault(name, f"{boxes_path.name} row {i}: {name}: coordinates are not numbers")
                continue
            boxes_of[name].append(box)
            box_rows[name].append(i)
            if name not in label_of and name not in order and name not in bad_label:
                order.append(name)

    use_masks = mask_dir is not None and bool(mask_of)
    items: list[LocalizationItem] = []
    for name in order:
        where = f"{labels_path.name if labels_path else boxes_path.name if boxes_path else ''}"
        path = image_dir / name
        if name in bad_box:
            skipped.append(bad_box[name])
            continue
        label = label_of.get(name)
        if label is None and require_labels:
            skipped.append(f"{boxes_path.name if boxes_path else where}: {name}: no label in {labels_path}")
            continue
        if not path.is_file():
            skipped.append(f"{where}: {name}: image file {path} not found")
            continue
        try:
            with Image.open(path) as im:
                width, height = im.size
        except OSError as exc:
            skipped.append(f"{where}: {name}: cannot read image ({exc})")
            continue
        item_boxes = boxes_of.get(name, [])
        problem = ""
        for box, row_no in zip(item_boxes, box_rows.get(name, []), strict=True):
            x0, y0, x1, y1 = box
            if not (x1 > x0 and y1 > y0):
                problem = f"{boxes_path.name if boxes_path else ''} row {row_no}: {name}: empty box {box}"
            elif (
                x0 < -_BOX_TOLERANCE
                or y0 < -_BOX_TOLERANCE
                or x1 > width + _BOX_TOLERANCE
                or y1 > height + _BOX_TOLERANCE
            ):
                problem = (
                    f"{boxes_path.name if boxes_path else ''} row {row_no}: {name}: box {box} lies outside "
                    f"the image ({width}x{height})"
                )
            if problem:
                break
        if problem:
            skipped.append(problem)
            continue
        mask_path = None
        if use_masks:
            assert mask_dir is not None
            if name not in mask_of:
                skipped.append(f"{where}: {name}: no mask named in column {mask_column!r}")
                continue
            mask_path = mask_dir / mask_of[name]
            if not mask_path.is_file():
                skipped.append(f"{where}: {name}: mask file {mask_path} not found")
                continue
            with Image.open(mask_path) as mk:
                if mk.size != (width, height):
                    skipped.append(
                        f"{where}: {name}: mask {mask_path.name} is {mk.size[0]}x{mk.size[1]}, the image "
                        f"{width}x{height}"
                    )
                    continue
        if boxes_path is not None and not item_boxes and mask_path is None:
            skipped.append(f"{where}: {name}: no boxes in {boxes_path.name}")
            continue
        if boxes_path is None and mask_path is None:
            skipped.append(f"{where}: {name}: no ground truth (give boxes or masks)")
            continue
        items.append(LocalizationItem(path, label, tuple(item_boxes), mask_path, (width, height)))
    return LocalizationDataset(
        items=items,
        skipped=skipped,
        has_boxes=boxes_path is not None,
        has_masks=use_masks,
        has_labels=labels_path is not None,
    )


def load_mask(path: Path) -> np.ndarray:
    """A binary mask (H, W) bool: non-zero pixels of the first channel are the object."""
    with Image.open(path) as im:
        arr = np.asarray(im.convert("L"))
    return arr > 0
