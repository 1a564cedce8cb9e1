"""The NIfTI sink: maps of DICOM/NIfTI inputs written back in the source geometry.

For every item read from a medical file, each map (on the item's own grid: the slice, or the whole
volume) is written as ``<out>/<id>/<method>_top<k>.nii.gz`` with the source's affine, so it overlays
in clinical viewers; volumes also get a montage PNG of evenly spaced slices. Items without geometry
(photos, DICOM without position/orientation) are left to the other sinks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..items import ItemResult
from ..manifest import Record

__all__ = ["NiftiSink"]


class NiftiSink:
    """Writes NIfTI maps (and volume montages) for items that carry medical geometry."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)

    def write(self, results: Sequence[ItemResult], records: Mapping[str, Record]) -> None:
        for res in results:
            image = res.item.medical
            if image is None:
                continue
            record = records[res.id]
            if record.get("status") != "done":
                continue
            record["geometry"] = {
                "shape": list(image.shape),
                "spacing_mm": [float(s) for s in image.spacing],
                "affine": None if image.affine is None else np.asarray(image.affine).round(6).tolist(),
            }
            entries = {(e["method"], e["rank"]): e for e in record["maps"]}
            folder = self.out_dir / res.id
            folder.mkdir(parents=True, exist_ok=True)
            for method, maps in res.maps.items():
                for k in range(maps.shape[0]):
                    entry = entries[(method, k + 1)]
                    if image.affine is not None and tuple(maps.shape[1:]) == tuple(image.shape):
                        from ...io.nifti import write_nifti_map

                        path = write_nifti_map(maps[k], image, folder / f"{method}_top{k + 1}.nii.gz")
                        entry["nifti"] = f"{res.id}/{path.name}"
                    if image.ndim == 3 and res.item.display is None:
                        from ...viz.medical import save_montage

                        path = save_montage(image.display, maps[k], folder / f"{method}_top{k + 1}_montage.png")
                        entry["montage"] = f"{res.id}/{path.name}"

    def close(self) -> None:
        return None
