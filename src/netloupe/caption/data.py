"""MedPix 2.0 caption subset: rows, images as the encoder sees them, and cached frozen-encoder features.

Data are read from the shared path (research/teaching use, never copied); features are cached in a
folder the caller names (gitignored ``out/`` by default in the CLI).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..errors import InputError
from ..io.atomic import atomic_write

__all__ = ["MIN_SIDE", "CaptionRow", "encode_images", "encode_spatial", "load_image", "read_captions"]

#: Smallest image side accepted (the encoder's 7x7 map comes from a 224x224 input; tiny images are noise).
MIN_SIDE = 32
_COLUMNS = ("image_file", "split", "U_id", "image_id", "type", "plane", "location_category", "caption")


@dataclass(frozen=True)
class CaptionRow:
    """One image and its metadata (the columns of ``captions.csv`` used here)."""

    image_file: Path
    split: str
    case: str
    image_id: str
    modality: str  # "CT" / "MR"
    plane: str
    region: str
    caption: str


def read_captions(root: str | Path) -> list[CaptionRow]:
    """Rows of ``root/captions.csv`` (MedPix 2.0 subset layout; see its PROVENANCE.md)."""
    path = Path(root) / "captions.csv"
    if not path.is_file():
        raise InputError(f"data: expected {path} (the medpix2-captions-subset folder), not found")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"data: {path.name} lacks columns {missing}; has {reader.fieldnames}")
        return [
            CaptionRow(
                Path(root) / r["image_file"],
                r["split"],
                r["U_id"],
                r["image_id"],
                r["type"],
                r["plane"],
                r["location_category"],
                r["caption"],
            )
            for r in reader
        ]


def load_image(source: str | Path | Image.Image | np.ndarray) -> Image.Image:
    """An image file/array as a PIL image; rejects unusable channel counts and images under ``MIN_SIDE`` px."""
    if isinstance(source, (str, Path)):
        from ..io.images import read_image

        image = read_image(source)
    elif isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
            raise InputError(f"image: expected 1, 3 or 4 channels (H, W, C), got shape {arr.shape}")
        if arr.ndim not in (2, 3):
            raise InputError(f"image: expected a 2-D grey or (H, W, C) array, got shape {arr.shape}")
        if arr.dtype != np.uint8:
            lo, hi = float(arr.min()), float(arr.max())
            arr = ((arr - lo) / (hi - lo + 1e-12) * 255).round().astype(np.uint8)
        image = Image.fromarray(arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr)
    elif isinstance(source, Image.Image):
        image = source
    else:
        raise InputError(f"image: expected a path, PIL image or array, got {type(source).__name__}")
    if min(image.size) < MIN_SIDE:
        raise InputError(f"image: smallest side must be >= {MIN_SIDE} px, got {image.size[0]}x{image.size[1]}")
    return image.convert("RGB")


@torch.no_grad()
def encode_images(
    encoder: torch.nn.Module,
    preprocess: object,
    files: list[Path],
    cache: str | Path | None = None,
    batch_size: int = 32,
) -> Tensor:
    """Pooled ``forward_features`` (N, D) of image ``files``; cached in ``cache`` keyed by the file list."""
    key = hashlib.sha1("\n".join(str(f) for f in files).encode()).hexdigest()[:12]
    path = Path(cache) / f"features-{key}.pt" if cache is not None else None
    if path is not None and path.is_file():
        return torch.load(path, weights_only=True)
    from rich.progress import track

    out = []
    encoder.eval()
    starts = list(range(0, len(files), batch_size))
    for s in track(starts, description="encoding images", transient=True):
        batch = torch.stack([preprocess(load_image(f)) for f in files[s : s + batch_size]])  # type: ignore[operator]
        out.append(encoder.forward_features(batch).mean((2, 3)))  # type: ignore[operator]
    feats = torch.cat(out)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: torch.save(feats, tmp))
    return feats


@torch.no_grad()
def encode_spatial(
    encoder: torch.nn.Module,
    preprocess: object,
    images: list[Path] | list[Image.Image],
    cache: str | Path | None = None,
    key: str | None = None,
    batch_size: int = 16,
) -> Tensor:
    """Spatial ``forward_features`` maps (N, D, h, w) as float16, cached in ``cache`` under ``key``.

    The attention decoder reads every cell of the map (Xu et al., 2015), so the map is kept whole;
    float16 halves the cache (a 1280 x 7 x 7 map is 125 kB). ``key`` defaults to a hash of the file list.
    """
    if key is None:
        key = hashlib.sha1("\n".join(str(f) for f in images).encode()).hexdigest()[:12]
    path = Path(cache) / f"spatial-{key}.pt" if cache is not None else None
    if path is not None and path.is_file():
        return torch.load(path, weights_only=True)
    from rich.progress import track

    out = []
    encoder.eval()
    starts = list(range(0, len(images), batch_size))
    for s in track(starts, description="encoding images", transient=True):
        batch = torch.stack([preprocess(load_image(f)) for f in images[s : s + batch_size]])  # type: ignore[operator]
        out.append(encoder.forward_features(batch).half())  # type: ignore[operator]
    feats = torch.cat(out)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: torch.save(feats, tmp))
    return feats
