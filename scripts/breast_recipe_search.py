"""Choose the BreastMNIST recipe by 5-fold cross-validation on the official train split (issue 15).

Each named candidate is a set of overrides of ``netloupe.medical.train.recipe("breastmnist")``; every
candidate uses the same folds and seed, so the scores are paired. One JSON per candidate is written to
``--out`` (skipped when it exists, so the search can be resumed). The test split is never read here.

    PYTHONPATH=src python scripts/breast_recipe_search.py base w16 mixup --out results/medical/breast_cv
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

import torch

from netloupe.io.atomic import atomic_write_json
from netloupe.medical.crossval import cross_validate
from netloupe.medical.train import recipe

#: the breastmnist recipe shipped before this search (issue 15), which the candidates change
PREVIOUS: dict[str, Any] = {"width": 32, "weight_decay": 5e-4, "epochs": 60, "swa_start": 0.5, "mixup": 0.0}

#: candidate name -> overrides of :data:`PREVIOUS` (``base`` is the previous recipe itself)
CANDIDATES: dict[str, dict[str, Any]] = {
    "base": {},
    "w16": {"width": 16},
    "w24": {"width": 24},
    "w16_e100": {"width": 16, "epochs": 100},
    "w16_mixup": {"width": 16, "mixup": 0.2},
    "w16_ls": {"width": 16, "label_smoothing": 0.1},
    "w16_drop4": {"width": 16, "dropout": 0.4},
    "w16_wd5e-3": {"width": 16, "weight_decay": 5e-3},
    "w16_aug2": {"width": 16, "rotate_deg": 20.0, "scale": 0.2, "shift": 0.15},
    "w16_lr1e-3": {"width": 16, "lr": 1e-3},
    "w16_wd5e-3_e100": {"width": 16, "weight_decay": 5e-3, "epochs": 100},
    "w16_wd2e-2": {"width": 16, "weight_decay": 2e-2},
    "w16_s56": {"width": 16, "input_size": 56},
    "mixup": {"mixup": 0.2},
    "ls": {"label_smoothing": 0.1},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="+", help=f"candidates: {', '.join(CANDIDATES)}")
    parser.add_argument("--out", type=Path, default=Path("results/medical/breast_cv"))
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        target = args.out / f"{name}_seed{args.seed}.json"
        if target.exists():
            print(f"{name}: {target} exists, skipped", flush=True)
            continue
        config = recipe("breastmnist", **{**PREVIOUS, **CANDIDATES[name], "seed": args.seed})
        result = cross_validate(config, k=args.k, data_path=args.data, log=partial(print, name, flush=True))
        summary = {"candidate": name, "overrides": CANDIDATES[name], **result.summary()}
        atomic_write_json(target, summary)
        best = max(summary["variants"].items(), key=lambda kv: kv[1]["mean_auc"])
        print(
            f"{name}: "
            + " ".join(f"{v} {d['mean_auc']:.4f}" for v, d in summary["variants"].items())
            + f" | best {best[0]} ({result.seconds:.0f} s)",
            flush=True,
        )
    print(json.dumps({"done": args.names}))


if __name__ == "__main__":
    main()
