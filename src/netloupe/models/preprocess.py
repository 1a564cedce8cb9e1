"""Per-model preprocessing: turn a user's image into the tensor the model was trained on.

The default is to resize the *whole* image (no centre crop) so that the map covers everything the
user gave; the map is later resized back to the image's own resolution.

Every method takes an image as a PIL image, a numpy array or a file path (PNG, JPEG, TIFF, ``.npy``;
DICOM/NIfTI with the ``medical`` extra), so ``loaded.preprocess.batch(["cat.jpg"])`` works as written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..errors import InputError

__all__ = ["ImageLike", "ImagePreprocess"]

#: What the preprocessing accepts: a PIL image, an array (H, W) / (H, W, C), or an image file path.
ImageLike = Union[Image.Image, np.ndarray, str, "os.PathLike[str]"]


@dataclass(frozen=True)
class ImagePreprocess:
    """Resize the whole image, scale to [0, 1], normalise per channel.

    Attributes:
        size: (height, width) the model expects, or None to keep the image's size.
        mean: per-channel mean subtracted after scaling to [0, 1].
        std: per-channel standard deviation divided after the mean.
        channels: 3 for RGB models, 1 for grey-scale models.
    """

    size: tuple[int, int] | None = (224, 224)
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    channels: int = 3

    def to_model_image(self, image: ImageLike) -> Image.Image:
        """The image as the model sees it (channel mode and size), before normalisation."""
        pil = _to_pil(image)
        pil = pil.convert("RGB" if self.channels == 3 else "L")
        if self.size is not None and pil.size != (self.size[1], self.size[0]):
            pil = pil.resize((self.size[1], self.size[0]), Image.Resampling.BILINEAR)
        return pil

    def __call__(self, image: ImageLike) -> Tensor:
        """One image -> normalised ``(C, H, W)`` float tensor."""
        arr = np.asarray(self.to_model_image(image), dtype=np.float32) / 255.0
        if arr.ndim == 2:
            arr = arr[:, :, None]
        x = torch.from_numpy(arr).permute(2, 0, 1).contiguous()
        mean = torch.tensor(self.mean, dtype=x.dtype)[:, None, None]
        std = torch.tensor(self.std, dtype=x.dtype)[:, None, None]
        return (x - mean) / std

    def batch(self, images: Sequence[ImageLike]) -> Tensor:
        """Several images -> ``(N, C, H, W)``; images of any size are resized to ``size``."""
        if isinstance(images, (str, os.PathLike, Image.Image, np.ndarray)):
            raise InputError(
                f"images: expected a list of images or paths, got one {type(images).__name__}; "
                "wrap it in a list: preprocess.batch([image])"
            )
        if not images:
            raise InputError("images: expected at least one image")
        images = [_to_pil(im) for im in images]  # read each file once
        if self.size is None and len({_to_pil(im).size for im in images}) > 1:
            raise InputError("images: mixed image sizes need a preprocessing size to batch them")
        return torch.stack([self(im) for im in images])

    def denormalize(self, x: Tensor) -> Tensor:
        """Inverse of the normalisation: ``(C, H, W)`` back to [0, 1]."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device)[:, None, None]
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device)[:, None, None]
        return (x * std + mean).clamp(0, 1)


def _to_pil(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, (str, os.PathLike)):
        return _read_path(Path(image))
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        raise InputError(f"image: expected 1, 3 or 4 channels (H, W, C), got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3):
        raise InputError(f"image: expected a 2-D grey or (H, W, C) colour array, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = ((arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)).astype(np.uint8)
    return Image.fromarray(arr)


def _read_path(path: Path) -> Image.Image:
    """An image file as a PIL image; DICOM/NIfTI through :mod:`netloupe.io.medical` (windowed, grey)."""
    from ..io.images import read_image

    name = path.name.lower()
    if name.endswith((".dcm", ".dicom", ".nii", ".nii.gz")):
        from ..io.medical import read_medical

        medical = read_medical(path)
        display = np.asarray(medical.display, dtype=np.float64)
        if display.ndim == 3 and not medical.is_color:  # a volume: its middle slice (axial for NIfTI)
            axis = 2 if name.endswith((".nii", ".nii.gz")) else 0
            display = np.take(display, display.shape[axis] // 2, axis=axis)
        return _to_pil(display)
    return read_image(path)
