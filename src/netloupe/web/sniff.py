"""Recognise an upload's type from its content (never from its name).

* PNG: ``\\x89PNG\\r\\n\\x1a\\n``; JPEG: ``\\xff\\xd8\\xff``; TIFF: ``II*\\0`` or ``MM\\0*``.
* DICOM Part 10: a 128-byte preamble then ``DICM`` (PS3.10 section 7.1); checked first, because the
  preamble of a dual-personality file may hold a TIFF header.
* NIfTI-1: ``sizeof_hdr`` = 348 (either byte order) and magic ``n+1\\0`` (single file) or ``ni1\\0``
  at byte 344; NIfTI-2: ``sizeof_hdr`` = 540 and magic ``n+2\\0`` at byte 4. Gzipped NIfTI
  (``.nii.gz``) is recognised by decompressing only the first 544 bytes.
"""

from __future__ import annotations

import gzip
import io
import struct
from typing import Literal

__all__ = ["UploadKind", "nifti_voxel_bytes", "sniff"]

UploadKind = Literal["png", "jpeg", "tiff", "dicom", "nifti", "nifti-gz"]


def _nifti_header(head: bytes) -> bool:
    if len(head) >= 348:
        for endian in "<>":
            if struct.unpack(f"{endian}i", head[:4])[0] == 348 and head[344:347] in (b"n+1", b"ni1"):
                return True
    if len(head) >= 540:
        for endian in "<>":
            if struct.unpack(f"{endian}i", head[:4])[0] == 540 and head[4:7] == b"n+2":
                return True
    return False


def _gunzip_head(data: bytes, n: int = 544) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            return fh.read(n)
    except (OSError, EOFError):
        return b""


def sniff(data: bytes) -> UploadKind | None:
    """The upload's type from its first bytes, or None when it is none of the accepted types."""
    if len(data) >= 132 and data[128:132] == b"DICM":  # first: a DICOM preamble may itself look like TIFF
        return "dicom"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if _nifti_header(data[:544]):
        return "nifti"
    if data[:2] == b"\x1f\x8b" and _nifti_header(_gunzip_head(data)):
        return "nifti-gz"
    return None


def nifti_voxel_bytes(data: bytes, gz: bool) -> int | None:
    """Bytes the NIfTI-1 image will take once decoded (dims x bitpix / 8), from its header; None if unknown.

    Used to refuse a small compressed file that would expand to gigabytes before handing it to a reader.
    """
    head = _gunzip_head(data, 348) if gz else data[:348]
    if len(head) < 348:
        return None
    for endian in "<>":
        if struct.unpack(f"{endian}i", head[:4])[0] != 348:
            continue
        dims = struct.unpack(f"{endian}8h", head[40:56])
        bitpix = struct.unpack(f"{endian}h", head[72:74])[0]
        ndim = dims[0]
        if not 1 <= ndim <= 7 or bitpix <= 0:
            return None
        count = 1
        for d in dims[1 : ndim + 1]:
            count *= max(int(d), 1)
        return count * bitpix // 8
    return None
