"""Size limits checked from a file's header, before its pixels or voxels are decoded.

A few kilobytes of PNG, RLE-compressed DICOM or gzipped NIfTI can promise billions of pixels (a
"decompression bomb"); decoding costs memory in proportion to that promise, not to the file's size.
The readers in :mod:`netloupe.io` read the header first and refuse what is over these limits with
:class:`InputTooLarge` (an :class:`~netloupe.errors.InputError`: one line and exit 2 in the CLI, 413 in the
web app). Library callers can pass their own limit (``max_pixels=`` / ``max_voxels=``) or ``None`` for none.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["MAX_PIXELS", "MAX_VOXELS", "InputTooLarge", "check_size"]

#: Photos: width x height. 100 M pixels is a 12,000 x 8,000 photo (a 96 MP camera); decoded RGB is 300 MB.
MAX_PIXELS = 100_000_000
#: DICOM (rows x columns x frames x samples) and NIfTI (voxels read): 64 M is e.g. 512 x 512 x 244 CT slices.
MAX_VOXELS = 64_000_000


class InputTooLarge(InputError):
    """A file whose header promises more pixels/voxels than the limit allows."""

    def __init__(self, message: str, count: int, limit: int) -> None:
        super().__init__(message)
        self.count = count
        self.limit = limit


def check_size(
    path: Path | str, shape: tuple[int, ...], limit: int | None, unit: str = "pixels", param: str = "image"
) -> None:
    """Raise :class:`InputTooLarge` when the product of ``shape`` is over ``limit`` (None: no limit)."""
    count = 1
    for n in shape:
        count *= max(int(n), 0)
    if limit is not None and count > limit:
        dims = " x ".join(str(int(n)) for n in shape)
        raise InputTooLarge(
            f"{param}: {path} is {dims} = {count:,} {unit}, over the limit of {limit:,} {unit} "
            "(read from its header, before decoding)",
            count,
            limit,
        )
