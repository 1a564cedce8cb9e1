"""How the feature-space tools scale: exact batched k-NN and t-SNE (openTSNE, FFT gradient) on n points.

Usage: PYTHONPATH=src python benchmarks/internals_scale.py --n 20000 --dim 64 [--device cpu] [--threads 1]
Prints wall times; nothing is asserted (see CONVENTIONS: speed is measured in benchmarks/, not tests).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from netloupe.internals import TSNE, NearestNeighbors, knn_accuracy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tsne-iter", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, args.classes, args.n)
    centres = rng.normal(0, 3, (args.classes, args.dim))
    x = (centres[labels] + rng.normal(size=(args.n, args.dim))).astype(np.float32)
    out: dict[str, float | int | str] = {"n": args.n, "dim": args.dim, "device": args.device, "threads": args.threads}
    start = time.perf_counter()
    _, idx = NearestNeighbors(90, device=args.device).fit(x).kneighbors()
    out["knn90_exact_s"] = round(time.perf_counter() - start, 2)
    out["knn5_accuracy"] = knn_accuracy(labels[idx[:, :5]], labels)
    start = time.perf_counter()
    TSNE(perplexity=30, gradient="fft", n_iter=args.tsne_iter, device=args.device, n_jobs=args.threads).fit(x)
    out["tsne_fft_total_s"] = round(time.perf_counter() - start, 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
