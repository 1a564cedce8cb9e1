"""The one type of a medical image: pixels or voxels with their geometry (read by ``io.dicom``/``io.nifti``).

It lives in its own module so that the readers (``io.dicom``, ``io.nifti``) and the dispatcher
(``io.medical``) all import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MedicalImage"]


@dataclass
class MedicalImage:
    """Pixels or voxels with their geometry.

    Attributes:
        values: modality values (HU for CT after rescale; raw intensities for MR/NIfTI), float32,
            ``(H, W)``, ``(D, H, W)``/``(I, J, K)`` or ``(H, W, 3)`` for colour.
        display: the same grid as grey levels in [0, 1] after windowing (and MONOCHROME1 inversion).
        spacing: voxel size in mm per spatial axis, in array order.
        affine: 4x4 array index -> RAS+ mm, or None when the file has no position/orientation.
        meta: format, modality, window, orientation, frame/volume/slice chosen, ...
        source: the file read.
    """

    values: np.ndarray
    display: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    @property
    def is_color(self) -> bool:
        return (
            self.values.ndim == 3
            and self.values.shape[-1] == 3
            and self.meta.get("format") == "dicom"
            and self.meta.get("photometric", "").startswith(("RGB", "YBR", "PALETTE"))
        )

    @property
    def ndim(self) -> int:
        """Spatial dimensions: 2 for images (colour included), 3 for volumes."""
        return 2 if self.is_color else self.values.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        """Spatial shape."""
        return tuple(self.values.shape[: self.ndim])
