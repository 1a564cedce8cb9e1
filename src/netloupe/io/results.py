"""Write an explanation run: overlays (PNG), maps (.npz), top-k figures and a JSON manifest.

Everything is first written to a hidden temporary folder inside the output folder and moved into
place only when complete, so a failure never leaves half-written results (see docs/manifest.md).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..viz.overlay import overlay, topk_figure

if TYPE_CHECKING:
    from ..pipeline import ExplainRun

__all__ = ["MANIFEST_NAME", "save_run"]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


def _label_slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_")[:40] or "target"


def save_run(run: ExplainRun, out_dir: Path, figures: bool = True) -> Path:
    """Write ``run`` under ``out_dir`` atomically; returns the manifest's path."""
    from .. import __version__

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".netloupe-partial-", dir=out_dir))
    try:
        images = []
        for res in run.results:
            folder = tmp / res.id
            folder.mkdir()
            entries = []
            for method, maps in res.maps.items():
                for k, (cls, label) in enumerate(zip(res.class_ids, res.labels, strict=True)):
                    name = f"{method}_top{k + 1}_{_label_slug(label)}.png"
                    overlay(res.image, maps[k]).save(folder / name)
                    entries.append(
                        {
                            "method": method,
                            "rank": k + 1,
                            "class_index": cls,
                            "label": label,
                            "layer": run.layers,
                            "overlay": f"{res.id}/{name}",
                            "array": f"{res.id}/maps.npz",
                            "array_key": method,
                            "array_index": k,
                        }
                    )
                if figures:
                    fig = topk_figure(
                        res.image,
                        list(maps),
                        [f"{lab} {p:.2f}" for lab, p in zip(res.labels, res.probabilities, strict=True)],
                        suptitle=f"{res.id}: {method}",
                    )
                    fig.savefig(folder / f"topk_{method}.png", dpi=100, bbox_inches="tight")  # type: ignore[attr-defined]
                    import matplotlib.pyplot as plt

                    plt.close(fig)  # type: ignore[arg-type]
            arrays: dict[str, Any] = {m: a.astype(np.float32) for m, a in res.maps.items()}
            np.savez_compressed(folder / "maps.npz", **arrays)
            images.append(
                {
                    "source": res.source,
                    "id": res.id,
                    "width": res.image.width,
                    "height": res.image.height,
                    "predictions": res.predictions,
                    "maps": entries,
                    "topk_figures": {m: f"{res.id}/topk_{m}.png" for m in res.maps} if figures else {},
                }
            )
        manifest = {
            "netloupe_version": __version__,
            "manifest_version": MANIFEST_VERSION,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": run.model_name,
            "layers": run.layers,
            "methods": run.methods,
            "images": images,
        }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for entry in sorted(tmp.iterdir(), key=lambda p: p.name == MANIFEST_NAME):  # manifest last
            dest = out_dir / entry.name
            if dest.is_dir():
                shutil.rmtree(dest)
            entry.replace(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / MANIFEST_NAME
