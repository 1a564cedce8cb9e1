"""Image collections for the internals tools: a folder, a CSV listing, an ``.npz`` array file, or arrays.

Every source becomes an :class:`ImageSet`: names, optional integer labels (with class names), lazily read
images, and optional concept masks (for network dissection). Files are only opened when an image is used.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .._typing import PathLikeStr
from ..errors import InputError

__all__ = ["IMAGE_SUFFIXES", "ImageSet", "load_image_set", "open_image", "with_complements"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")
_LABEL_COLUMNS = ("label", "labels", "class_index", "class", "target", "y", "diagnosis")
_NAME_COLUMNS = ("class_name", "label_name", "diagnosis_name", "name")


@dataclass
class ImageSet:
    """Images with optional labels and concept masks.

    Attributes:
        names: one identifier per image (file name or array index).
        labels: ``(N,)`` integer labels, or None.
        class_names: names of the label values (index = label), or None.
        concepts: names of the concept masks available through :meth:`masks`.
        source: where the images came from (for messages and manifests).
    """

    names: list[str]
    read: Callable[[int], Image.Image]
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    concepts: list[str] = field(default_factory=list)
    read_masks: Callable[[int], np.ndarray] | None = None
    source: str = "arrays"

    def __len__(self) -> int:
        return len(self.names)

    def image(self, index: int) -> Image.Image:
        """Image ``index`` as a PIL image (RGB or L)."""
        return self.read(int(index))

    def images(self, indices: Sequence[int] | np.ndarray) -> list[Image.Image]:
        return [self.image(int(i)) for i in indices]

    def masks(self, index: int) -> np.ndarray:
        """Concept masks of image ``index``: bool ``(K, H, W)`` at the image's own size."""
        if self.read_masks is None:
            raise InputError(f"masks: {self.source} has no concept masks (give a CSV with mask columns)")
        return self.read_masks(int(index))

    def label_name(self, label: int) -> str:
        if self.class_names is not None and 0 <= label < len(self.class_names):
            return self.class_names[label]
        return str(label)

    def subset(self, indices: Sequence[int] | np.ndarray) -> ImageSet:
        """The images at ``indices`` (labels and masks follow)."""
        idx = [int(i) for i in indices]
        read, read_masks = self.read, self.read_masks
        return ImageSet(
            names=[self.names[i] for i in idx],
            read=lambda j: read(idx[j]),
            labels=None if self.labels is None else self.labels[idx],
            class_names=self.class_names,
            concepts=list(self.concepts),
            read_masks=None if read_masks is None else (lambda j: read_masks(idx[j])),
            source=self.source,
        )

    @classmethod
    def from_arrays(
        cls,
        images: np.ndarray | Sequence[np.ndarray],
        labels: Sequence[int] | np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        masks: np.ndarray | Sequence[np.ndarray] | None = None,
        concepts: Sequence[str] | None = None,
    ) -> ImageSet:
        """Images given as arrays: ``(N, H, W)``, ``(N, H, W, C)`` or a list of ``(H, W[, C])`` arrays.

        ``masks`` are ``(N, K, H, W)`` (or a list of ``(K, H, W)``) concept masks named by ``concepts``.
        """
        imgs = list(images)
        if not imgs:
            raise InputError("images: expected at least one image, got none")
        lab = None if labels is None else np.asarray(labels).astype(np.int64).ravel()
        if lab is not None and len(lab) != len(imgs):
            raise InputError(f"labels: expected one per image ({len(imgs)}), got {len(lab)}")
        mask_list = None if masks is None else list(masks)
        if mask_list is not None and len(mask_list) != len(imgs):
            raise InputError(f"masks: expected one (K, H, W) stack per image ({len(imgs)}), got {len(mask_list)}")
        names_k = (
            list(concepts)
            if concepts is not None
            else ([f"concept{k}" for k in range(np.asarray(mask_list[0]).shape[0])] if mask_list else [])
        )
        return cls(
            names=[str(i) for i in range(len(imgs))],
            read=lambda i: _array_to_pil(np.asarray(imgs[i])),
            labels=lab,
            class_names=None if class_names is None else list(class_names),
            concepts=names_k,
            read_masks=None if mask_list is None else (lambda i: np.asarray(mask_list[i]).astype(bool)),
        )


def _array_to_pil(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[2] not in (1, 3):
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(f"image: expected (H, W), (H, W, 3) or (3, H, W) arrays, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        a = arr.astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        already_unit = lo >= 0.0 and hi <= 1.0  # [0, 1] intensities stay as they are
        scaled = a if already_unit else ((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a))
        arr = (scaled * 255).round().astype(np.uint8)
    pil = Image.fromarray(arr)
    return pil.convert("RGB") if pil.mode not in ("RGB", "L") else pil


def open_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB") if im.mode not in ("RGB", "L") else im.copy()
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise InputError(f"image: cannot read {path} ({exc})") from exc


def _resolve(base: Path, value: str, extra: Sequence[Path]) -> Path:
    for folder in (base, base / "images", base / "masks", *extra):
        candidate = folder / value
        if candidate.exists():
            return candidate
    raise InputError(f"csv: file {value!r} not found next to the CSV ({base}) nor in images/ or masks/ there")


def _labels_from(values: list[str], names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """Raw label strings -> integer labels and class names."""
    try:
        ints = np.array([int(float(v)) for v in values], dtype=np.int64)
    except ValueError:
        classes = sorted(set(values))
        lookup = {c: i for i, c in enumerate(classes)}
        return np.array([lookup[v] for v in values], dtype=np.int64), classes
    n = int(ints.max()) + 1 if len(ints) else 0
    class_names = [str(i) for i in range(n)]
    if names is not None:
        for i, name in zip(ints, names, strict=True):
            class_names[int(i)] = name
    return ints, class_names


def _from_csv(
    path: Path,
    image_column: str,
    label_column: str | None,
    mask_columns: Sequence[str] | None,
    root: Path | None,
) -> ImageSet:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InputError(f"data: {path} has no rows")
    columns = list(rows[0])
    if image_column not in columns:
        raise InputError(f"image_column: {image_column!r} is not a column of {path}; columns: {', '.join(columns)}")
    if label_column is None:
        label_column = next((c for c in _LABEL_COLUMNS if c in columns), None)
    elif label_column not in columns:
        raise InputError(f"label_column: {label_column!r} is not a column of {path}; columns: {', '.join(columns)}")
    extra = [root] if root is not None else []
    base = path.parent
    files = [_resolve(base, r[image_column], extra) for r in rows]
    labels = class_names = None
    if label_column is not None:
        name_col = next((c for c in _NAME_COLUMNS if c in columns and c != label_column), None)
        names = [r[name_col] for r in rows] if name_col else None
        labels, class_names = _labels_from([r[label_column] for r in rows], names)
    mask_cols = list(mask_columns or [])
    for col in mask_cols:
        if col not in columns:
            raise InputError(f"mask_columns: {col!r} is not a column of {path}; columns: {', '.join(columns)}")
    mask_files = [[_resolve(base, r[c], extra) for c in mask_cols] for r in rows]

    def read_masks(i: int) -> np.ndarray:
        size = open_image(files[i]).size
        out = []
        for mf in mask_files[i]:
            m = open_image(mf).convert("L")
            if m.size != size:
                raise InputError(
                    f"masks: {mf.name} is {m.size[0]}x{m.size[1]} but its image {files[i].name} is "
                    f"{size[0]}x{size[1]}; "
                    "a concept mask must have its image's size"
                )
            out.append(np.asarray(m) > 127)
        return np.stack(out)

    return ImageSet(
        names=[f.name for f in files],
        read=lambda i: open_image(files[i]),
        labels=labels,
        class_names=class_names,
        concepts=mask_cols,
        read_masks=read_masks if mask_cols else None,
        source=str(path),
    )


def _from_folder(path: Path) -> ImageSet:
    subdirs = sorted(d for d in path.iterdir() if d.is_dir())
    flat = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    labels = class_names = None
    if subdirs and not flat:
        files, lab = [], []
        class_names = [d.name for d in subdirs]
        for k, d in enumerate(subdirs):
            found = sorted(f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            files += found
            lab += [k] * len(found)
        labels = np.array(lab, dtype=np.int64)
    else:
        files = flat
    if not files:
        raise InputError(f"data: no images ({', '.join(IMAGE_SUFFIXES)}) in {path} or its class subfolders")
    return ImageSet(
        names=[f.name for f in files],
        read=lambda i: open_image(files[i]),
        labels=labels,
        class_names=class_names,
        source=str(path),
    )


def _from_npz(path: Path, split: str | None) -> ImageSet:
    with np.load(path, allow_pickle=False) as z:
        keys = list(z.keys())
        prefix = f"{split}_" if split else ""
        img_key = next((k for k in (f"{prefix}images", f"{prefix}x", f"{prefix}X") if k in keys), None)
        if img_key is None:
            splits = sorted({k[: -len("_images")] for k in keys if k.endswith("_images")})
            hint = f"; it holds splits {', '.join(splits)}: choose one with split=" if splits and not split else ""
            raise InputError(f"data: {path.name} has no '{prefix}images' array (keys: {', '.join(keys)}){hint}")
        images = z[img_key]
        lab_key = next((k for k in (f"{prefix}labels", f"{prefix}y") if k in keys), None)
        labels = z[lab_key].astype(np.int64).ravel() if lab_key else None
    if images.ndim not in (3, 4):
        raise InputError(f"data: {img_key} must be (N, H, W) or (N, H, W, C), got shape {images.shape}")
    imageset = ImageSet.from_arrays(images, labels)
    imageset.source = f"{path}" + (f" [{split}]" if split else "")
    return imageset


def load_image_set(
    path: PathLikeStr,
    *,
    image_column: str = "image",
    label_column: str | None = None,
    mask_columns: Sequence[str] | None = None,
    split: str | None = None,
    root: PathLikeStr | None = None,
) -> ImageSet:
    """Open an image collection.

    Args:
        path: a folder (flat, or one subfolder per class = label), a ``.csv`` (one row per image; file
            names are resolved next to the CSV, in its ``images/``/``masks/`` subfolders or in ``root``),
            or an ``.npz`` with ``images``/``labels`` (or ``<split>_images``/``<split>_labels``, as MedMNIST).
        image_column: CSV column of the image file names.
        label_column: CSV column of labels (default: the first of label, class_index, class, target, y,
            diagnosis); a ``class_name``-like column next to numeric labels gives the class names.
        mask_columns: CSV columns of binary concept masks (one concept per column), for dissection.
        split: which split of an ``.npz`` file (e.g. ``"test"``).
        root: another folder to look for the CSV's files in.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file or directory", str(p))
    if p.is_dir():
        return _from_folder(p)
    if p.suffix.lower() == ".csv":
        return _from_csv(p, image_column, label_column, mask_columns, Path(root) if root else None)
    if p.suffix.lower() == ".npz":
        return _from_npz(p, split)
    raise InputError(f"data: expected a folder, a .csv or an .npz file, got {p.name}")


def with_complements(images: ImageSet, prefix: str = "not ") -> ImageSet:
    """The same images with each concept's complement added as a concept (e.g. lesion -> 'not lesion')."""
    if images.read_masks is None:
        raise InputError(f"masks: {images.source} has no concept masks to complement")
    read_masks = images.read_masks

    def both(i: int) -> np.ndarray:
        m = read_masks(i)
        return np.concatenate([m, ~m])

    return ImageSet(
        names=images.names,
        read=images.read,
        labels=images.labels,
        class_names=images.class_names,
        concepts=[*images.concepts, *(prefix + c for c in images.concepts)],
        read_masks=both,
        source=images.source,
    )
