"""Regenerate the README gallery: `python scripts/gallery.py` (default model, CPU, ~30 s)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import netloupe
from netloupe.demo.images import demo_photo
from netloupe.pipeline import explain_images

OUT = Path(__file__).resolve().parents[1] / "docs" / "gallery"


def main() -> None:
    loaded = netloupe.load_model()
    photos = {
        "chelsea": demo_photo("chelsea.png"),
        "coffee": demo_photo("coffee.png"),
        "motorcycle": demo_photo("motorcycle_left.png"),
    }
    run = explain_images(list(photos.values()), loaded, ["gradcam", "gradcam++", "scorecam"], top_k=3)
    for res, name in zip(run.results, photos, strict=True):
        res.item.id = name
    with tempfile.TemporaryDirectory() as tmp:
        run.save(tmp)
        OUT.mkdir(parents=True, exist_ok=True)
        for name in photos:
            for method in run.methods:
                shutil.copy(Path(tmp) / name / f"topk_{method}.png", OUT / f"{name}_{method}.png")


if __name__ == "__main__":
    main()
