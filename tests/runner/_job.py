"""A tiny dataset job, importable by the tests and runnable as a script (for kill/SIGINT tests).

``python _job.py DATASET OUT [--slow SECONDS] [--workers N]`` runs :func:`run_dataset` with
:func:`tiny_model` (batch size 2) and exits 130 when interrupted, printing nothing on success.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

_ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_ROOT), str(_ROOT / "src")]  # when run as a script

from tests._tiny import small_cnn  # noqa: E402

from netloupe.models.preprocess import ImagePreprocess  # noqa: E402
from netloupe.models.zoo import LoadedModel  # noqa: E402

CLASSES = ["ant", "bee", "cat", "dog", "eel"]


def tiny_model(slow: float = 0.0) -> LoadedModel:
    """A seeded random CNN (5 classes) on 32x32 inputs; layer '5' (last conv) is the target."""
    gen = torch.random.fork_rng()
    with gen:
        torch.manual_seed(1234)
        net = small_cnn(2, 3, len(CLASSES)).eval()
    if slow:  # every forward pass sleeps, which makes a run long enough to interrupt
        net.register_forward_pre_hook(lambda _m, _i: time.sleep(slow))
    return LoadedModel(
        name="tiny",
        model=net,
        preprocess=ImagePreprocess(size=(32, 32), mean=(0.5,) * 3, std=(0.25,) * 3),
        class_names=list(CLASSES),
        target_layer="5",
    )


def make_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` random RGB/grey images of a few different sizes (PNG and JPEG)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    sizes = [(40, 30), (33, 47), (40, 30), (64, 64)]
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        if i % 5 == 4:
            img, path = Image.fromarray(arr[:, :, 0]), folder / f"img{i:03d}.png"
        else:
            img, path = Image.fromarray(arr), folder / f"img{i:03d}.{'jpg' if i % 3 else 'png'}"
        img.save(path)
        paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    from netloupe.runner import run_dataset

    dataset, out = argv[0], argv[1]
    slow = float(argv[argv.index("--slow") + 1]) if "--slow" in argv else 0.0
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 0
    torch.set_num_threads(1)
    summary = run_dataset(
        dataset, tiny_model(slow), ["gradcam", "gradcam++"], out, top_k=2, batch_size=2, workers=workers, writers=2
    )
    return 130 if summary.interrupted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
