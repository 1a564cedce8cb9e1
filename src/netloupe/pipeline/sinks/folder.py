"""The folder sink: per item, colour overlays (PNG), the maps (``maps.npz``) and top-k figures.

Layout: ``<out>/<item id>/<method>_top<k>_<label>.png``, ``<out>/<item id>/maps.npz`` (one float32
``(K, *grid)`` array per method) and, with ``figures``, ``<out>/<item id>/topk_<method>.png``. Every file
is written under a temporary name and renamed into place, so a file under its final name is complete.
A writer pool encodes the items of a batch in parallel (PNG and zlib release the GIL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from ...cam.registry import get_method
from ...io.atomic import PART_SUFFIX, atomic_write
from ..items import ItemResult, one_line
from ..manifest import Record

__all__ = ["FolderSink", "OverlayPolicy", "files_present", "label_slug", "write_png"]

OverlayPolicy = Literal["all", "none"]


def label_slug(label: str) -> str:
    """A class label as a short file-name part."""
    return "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_")[:40] or "target"


class FolderSink:
    """Writes each item's files under ``out_dir/<id>/`` and fills the records' file fields.

    Args:
        out_dir: the run's output folder (created).
        overlays: ``"all"`` writes one PNG per method and class; ``"none"`` writes arrays only.
        figures: also write one top-k figure per method (matplotlib; slower, for small runs).
        writers: threads encoding and writing files.
        arrays: write ``maps.npz`` (off when a chunked store holds the maps).
    """

    def __init__(
        self,
        out_dir: str | Path,
        overlays: OverlayPolicy = "all",
        figures: bool = False,
        writers: int = 1,
        arrays: bool = True,
    ) -> None:
        if overlays not in ("all", "none"):
            raise ValueError(f"overlays: expected 'all' or 'none', got {overlays!r}")
        self.out_dir = Path(out_dir)  # created with the first item's folder: a run that explains nothing writes nothing
        self.overlays = overlays
        self.figures = figures
        self.arrays = arrays
        self._pool = ThreadPoolExecutor(max(1, writers), thread_name_prefix="netloupe-writer") if writers > 1 else None

    def write(self, results: Sequence[ItemResult], records: Mapping[str, Record]) -> None:
        if self._pool is None:
            for res in results:
                self._write_safely(res, records[res.id])
            return
        for fut in [self._pool.submit(self._write_safely, res, records[res.id]) for res in results]:
            fut.result()

    def _write_safely(self, res: ItemResult, record: Record) -> None:
        """Disk full, permission denied: this item fails (recorded), the run goes on."""
        try:
            self._write_item(res, record)
        except Exception as exc:
            record.update(status="failed", reason=f"writing failed: {one_line(exc)}")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _write_item(self, res: ItemResult, record: Record) -> None:
        folder = self.out_dir / res.id
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f".*{PART_SUFFIX}"):  # left by a run that was killed while writing
            stale.unlink(missing_ok=True)
        entries = {(e["method"], e["rank"]): e for e in record["maps"]}
        draw = self.overlays == "all" and res.item.display is not None
        for method, maps in res.maps.items():
            agnostic = not get_method(method).class_specific  # one map whatever the class: one picture
            for k, label in enumerate(res.labels):
                entry = entries[(method, k + 1)]
                if agnostic:
                    entry["class_agnostic"] = True
                if draw:
                    name = (
                        f"{method}_class-agnostic.png" if agnostic else f"{method}_top{k + 1}_{label_slug(label)}.png"
                    )
                    if not agnostic or k == 0:
                        picture = res.overlays[method][k] if method in res.overlays else _overlay(res, maps[k])
                        write_png(folder / name, picture)
                    entry["overlay"] = f"{res.id}/{name}"
                if self.arrays:
                    entry.update(array=f"{res.id}/maps.npz", array_key=method, array_index=k)

        def save_npz(p: Path) -> None:
            with p.open("wb") as fh:
                np.savez(fh, **res.maps)  # type: ignore[arg-type]

        if self.arrays:
            atomic_write(folder / "maps.npz", save_npz)
        if self.figures and res.item.display is not None:
            record["topk_figures"] = {m: f"{res.id}/topk_{m}.png" for m in res.maps}
            for method in res.maps:
                _save_topk_figure(res, method, folder / f"topk_{method}.png")


def write_png(path: Path, pixels: np.ndarray) -> None:
    atomic_write(path, lambda p: Image.fromarray(pixels).save(p, format="PNG"))


def _overlay(res: ItemResult, heat: np.ndarray) -> np.ndarray:
    from ...viz.overlay import overlay

    assert res.item.display is not None
    return np.asarray(overlay(res.item.display.numpy(), heat))


def _save_topk_figure(res: ItemResult, method: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    from ...viz.overlay import topk_figure

    assert res.item.display is not None
    image = Image.fromarray(res.item.display.numpy())
    titles = [f"{lab} {p:.2f}" if p == p else lab for lab, p in zip(res.labels, res.probabilities, strict=True)]
    fig = topk_figure(image, list(res.maps[method]), titles, suptitle=f"{res.id}: {method}")
    try:
        atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=100, bbox_inches="tight"))  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]


def files_present(out_dir: Path, record: Mapping[str, object]) -> bool:
    """Whether every file a ``done`` record names exists (a resumed run redoes items whose files vanished)."""
    maps = record.get("maps")
    if not isinstance(maps, list) or not maps:
        return False
    names = {str(m[key]) for m in maps for key in ("overlay", "array", "nifti") if key in m}
    return bool(names) and all((out_dir / n).is_file() for n in names)
