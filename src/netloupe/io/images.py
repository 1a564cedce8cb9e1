"""Reading ordinary images (PNG, JPEG, TIFF, BMP, ...) and image arrays (.npy) with clear errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .._typing import PathLikeStr
from ..errors import InputError
from .limits import MAX_PIXELS, check_size

__all__ = ["IMAGE_SUFFIXES", "read_image"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".npy"}


def read_image(path: PathLikeStr, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Read an image file as a PIL image (RGB or L), fully decoded.

    The size is read from the header first: an image over ``max_pixels`` (width x height; None: no limit)
    is refused before any pixel is decoded (a 69-byte PNG can claim 30,000 x 30,000 pixels).

    Raises:
        FileNotFoundError: the file does not exist.
        InputError: unsupported format, corrupt/truncated data, an unusable channel count, values that are
            not finite (NaN/inf in a ``.npy``); :class:`~netloupe.io.limits.InputTooLarge` over ``max_pixels``.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file", str(p))
    if p.is_dir():
        raise InputError(f"image: {p} is a directory, expected an image file")
    if p.suffix.lower() == ".npy":
        return _read_array(p, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies instead
            with Image.open(p) as im:
                check_size(p, (im.width, im.height), max_pixels)
                im.load()
                image = im.copy()
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"image: {p} claims more pixels than can be decoded safely ({exc})") from exc
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


def _read_array(p: Path, max_pixels: int | None) -> Image.Image:
    try:
        arr = np.load(p, allow_pickle=False, mmap_mode="r")  # the header first: nothing decoded yet
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"image: {p} is not a readable .npy array ({exc})") from exc
    if max_pixels is not None and arr.size > 4 * max_pixels:
        check_size(p, tuple(arr.shape), 4 * max_pixels, unit="values")
    if arr.ndim in (2, 3):
        first = arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[2] not in (1, 3, 4)
        check_size(p, tuple(arr.shape[1:] if first else arr.shape[:2]), max_pixels)
    arr = np.array(arr)
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
    if np.issubdtype(arr.dtype, np.inexact):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            what = "only NaN/inf values" if bad == arr.size else f"{bad} NaN/inf values of {arr.size}"
            raise InputError(f"image: {p} holds {what}; replace them (e.g. np.nan_to_num) before explaining")
    return Image.fromarray(arr if arr.dtype == np.uint8 else _to_uint8(arr.astype(np.float64)))
