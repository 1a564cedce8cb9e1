"""A small synthetic CT slice written as a real DICOM Part 10 file with pydicom (for upload tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def write_ct(path: Path, pydicom: Any, size: int = 64) -> Path:
    """A disc of soft tissue (40 HU) with a bright bone ring in air, stored as int16 with rescale -1024."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    hu = np.where(r < size * 0.35, 40.0, -1000.0)
    hu[(r > size * 0.25) & (r < size * 0.3)] = 900.0
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\x00" * 128)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.PixelSpacing = [0.7, 0.7]
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ds.PixelData = (hu + 1024).astype(np.int16).tobytes()
    if _new_api(pydicom):
        ds.save_as(str(path), enforce_file_format=True)
    else:
        ds.save_as(str(path), write_like_original=False)
    return path


def _new_api(pydicom: Any) -> bool:
    return int(pydicom.__version__.split(".")[0]) >= 3
