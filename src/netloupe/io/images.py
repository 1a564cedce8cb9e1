"""Reading ordinary images (PNG, JPEG, TIFF, BMP, ...) and image arrays (.npy) with clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .._typing import PathLikeStr
from ..errors import InputError

__all__ = ["IMAGE_SUFFIXES", "read_image"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".npy"}


def read_image(path: PathLikeStr) -> Image.Image:
    """Read an image file as a PIL image (RGB or L), fully decoded.

    Raises:
        FileNotFoundError: the file does not exist.
        InputError: unsupported format, corrupt/truncated data or an unusable channel count.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.is_dir():
        raise InputError(f"image: {p} is a directory, expected an image file")
    if p.suffix.lower() == ".npy":
        return _read_array(p)
    try:
        with Image.open(p) as im:
            im.load()
            image = im.copy()
    except UnidentifiedImageError as exc:
        raise InputError(f"image: {p} is not an image format netloupe can read (PNG, JPEG, TIFF, BMP, ...)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"image: {p} is corrupt or truncated ({exc})") from exc
    if image.mode in ("L", "RGB"):
        return image
    if image.mode in ("I;16", "I;16B", "I", "F"):
        return Image.fromarray(_to_uint8(np.asarray(image, dtype=np.float64)))
    if image.mode in ("RGBA", "LA", "P", "PA", "CMYK", "YCbCr", "1"):
        return image.convert("RGB")
    raise InputError(f"image: {p} has mode {image.mode!r}, which has no RGB or grey interpretation")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return ((arr - lo) / (hi - lo) * 255.0).round().astype(np.uint8)


def _read_array(p: Path) -> Image.Image:
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"image: {p} is not a readable .npy array ({exc})") from exc
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[2] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # (C, H, W) -> (H, W, C)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise InputError(f"image: {p} has shape {arr.shape}; expected (H, W), (H, W, 1|3|4) or (1|3, H, W)")
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"image: {p} holds {arr.dtype} values, expected numbers")
    return Image.fromarray(arr if arr.dtype == np.uint8 else _to_uint8(arr.astype(np.float64)))
