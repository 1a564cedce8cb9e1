"""Train netloupe's ``pneumonia-tinycnn`` on PneumoniaMNIST (fixed seed, CPU, one thread).

Usage: PYTHONPATH=src python scripts/internals/train_pneumonia_tinycnn.py [--epochs 6]
Writes src/netloupe/models/data/pneumonia_tinycnn.pt and prints val/test accuracy.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from netloupe._paths import shared_data_dir
from netloupe.models.internals_zoo import WEIGHTS_FILE, TinyCNN


def tensors(z: np.lib.npyio.NpzFile, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(z[f"{split}_images"]).float().div(255).sub(0.5).div(0.5)[:, None]
    return x, torch.from_numpy(z[f"{split}_labels"].ravel()).long()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = shared_data_dir()
    if data is None:
        raise SystemExit("needs ../shared/data/pneumoniamnist (or $NETLOUPE_DATA)")
    z = np.load(data / "pneumoniamnist" / "pneumoniamnist.npz")
    xtr, ytr = tensors(z, "train")
    xva, yva = tensors(z, "val")
    xte, yte = tensors(z, "test")
    model = TinyCNN()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    # Class weights against the 1:2.9 imbalance (normal:pneumonia in train).
    counts = torch.bincount(ytr).float()
    loss_fn = nn.CrossEntropyLoss(weight=counts.sum() / (2 * counts))
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for s in range(0, len(xtr), 64):
            idx = perm[s : s + 64]
            xb = xtr[idx]
            # Light augmentation: random shifts of up to 2 px.
            dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            opt.zero_grad()
            loss = loss_fn(model(xb), ytr[idx])
            loss.backward()
            opt.step()
        sched.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f} val acc {accuracy(model, xva, yva):.4f}")
    print(
        f"train time {time.perf_counter() - start:.1f} s; val acc {accuracy(model, xva, yva):.4f}; "
        f"test acc {accuracy(model, xte, yte):.4f}"
    )
    out = Path(__file__).resolve().parents[2] / "src" / "netloupe" / "models" / "data" / WEIGHTS_FILE
    model.eval()
    torch.save(model.state_dict(), out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
