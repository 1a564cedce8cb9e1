"""Content sniffing (magic numbers, NIfTI headers) and the CAM localization box on hand-made maps."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from netloupe.web.boxes import localization_box
from netloupe.web.sniff import nifti_voxel_bytes, sniff


def nifti_header(
    dims: tuple[int, ...] = (4, 5, 6), bitpix: int = 16, endian: str = "<", magic: bytes = b"n+1"
) -> bytes:
    head = bytearray(352)
    head[0:4] = struct.pack(f"{endian}i", 348)
    dim = [len(dims), *dims] + [1] * (7 - len(dims))
    head[40:56] = struct.pack(f"{endian}8h", *dim)
    head[72:74] = struct.pack(f"{endian}h", bitpix)
    head[344:348] = magic + b"\x00"
    return bytes(head)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n rest", "png"),
        (b"\xff\xd8\xff\xe0 rest", "jpeg"),
        (b"II*\x00 rest", "tiff"),
        (b"MM\x00* rest", "tiff"),
        (b"\x00" * 128 + b"DICM" + b"\x02\x00", "dicom"),
        (b"II*\x00" + b"\x00" * 124 + b"DICM", "dicom"),  # dual-personality preamble (TIFF header inside)
        (nifti_header(), "nifti"),
        (nifti_header(endian=">"), "nifti"),
        (nifti_header(magic=b"ni1"), "nifti"),
        (gzip.compress(nifti_header() + b"\x00" * 240), "nifti-gz"),
        (b"GIF89a", None),
        (b"\x00" * 128 + b"DICX", None),
        (nifti_header(magic=b"xx1"), None),
        (gzip.compress(b"not a nifti" * 40), None),
        (b"\x1f\x8b broken gzip", None),
        (b"", None),
    ],
)
def test_sniff(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


def test_nifti_decoded_size_from_header() -> None:
    assert nifti_voxel_bytes(nifti_header((4, 5, 6), 16), gz=False) == 4 * 5 * 6 * 2
    assert nifti_voxel_bytes(gzip.compress(nifti_header((512, 512, 512), 32, ">")), gz=True) == 512**3 * 4
    assert nifti_voxel_bytes(b"short", gz=False) is None


def test_box_is_the_largest_region_above_20_percent_of_max() -> None:
    m = np.zeros((10, 12))
    m[1:3, 1:3] = 1.0  # small region holding the peak (4 px)
    m[5:9, 4:10] = 0.25  # larger region above 0.2 * 1.0 (24 px)
    m[0, 11] = 0.19  # below the threshold: ignored
    assert localization_box(m) == (4, 5, 9, 8)
    m[5:9, 4:10] = 0.19  # now below 20%: only the small region is left
    assert localization_box(m) == (1, 1, 2, 2)


def test_box_uses_8_connectivity_and_handles_empty_maps() -> None:
    m = np.zeros((5, 5))
    m[0, 0] = m[1, 1] = m[2, 2] = 1.0  # a diagonal line: one region under 8-connectivity
    m[4, 0] = 1.0
    assert localization_box(m) == (0, 0, 2, 2)
    assert localization_box(np.zeros((4, 4))) is None
    assert localization_box(np.full((3, 3), np.nan)) is None
