"""Train a BreastMNIST recipe with several seeds on the official split; record val and test per seed.

The recipe is fixed before this runs (chosen by cross-validation on the train split, see
``scripts/breast_recipe_search.py``); this script only measures how much the test AUC moves with the seed,
so that the shipped seed-0 model is reported next to the spread of its recipe. One JSON per seed is
written (skipped when it exists, so runs can be split over processes and resumed).

    PYTHONPATH=src python scripts/breast_seed_spread.py --seeds 0 1 2 3 4 --name recipe
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from breast_recipe_search import CANDIDATES, PREVIOUS  # type: ignore[import-not-found]

from netloupe.io.atomic import atomic_write_json
from netloupe.medical.train import recipe, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--name", default="recipe", help="'recipe' (the committed recipe) or a search candidate ('base': the previous)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=Path("results/medical/breast_seeds"))
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    overrides = {} if args.name == "recipe" else {**PREVIOUS, **CANDIDATES[args.name]}
    for seed in args.seeds:
        target = args.out / f"{args.name}_seed{seed}.json"
        if target.exists():
            print(f"{target} exists, skipped", flush=True)
            continue
        result = train(recipe("breastmnist", seed=seed, **overrides), data_path=args.data, show_progress=False)
        atomic_write_json(target, {"name": args.name, "overrides": overrides, **result.summary()})
        print(json.dumps({"seed": seed, "val": result.val, "test": result.test}), flush=True)


if __name__ == "__main__":
    main()
