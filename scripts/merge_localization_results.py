"""Merge ``netloupe localize`` JSON outputs of separate runs (e.g. Score-CAM run in its own process on the
same seeded subset) into one paper-shaped table.

Usage::

    PYTHONPATH=src python scripts/merge_localization_results.py out/imagenet-main/localization.json \
        out/imagenet-scorecam/localization.json --out results/localization --stem imagenet_localization

Methods evaluated only on the subset (Score-CAM) also appear in the all-images table with their subset
numbers; the ``n`` column shows how many images each row covers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from netloupe.runner.localize import LocalizationReport, write_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stem", default="localization")
    args = parser.parse_args(argv)
    runs = [json.loads(p.read_text()) for p in args.inputs]
    sizes = {r["subset_size"] for r in runs}
    seeds = {r["meta"].get("seed") for r in runs}
    if len(sizes) != 1 or len(seeds) != 1:
        raise SystemExit(f"runs use different subsets (sizes {sizes}, seeds {seeds}); cannot merge")
    methods, full, subset, seconds, shared, skipped = [], {}, {}, {}, [], []
    for r in runs:
        for m in r["meta"]["methods"]:
            methods.append(m)
            full[m] = r["all"].get(m, r["subset"][m])
            subset[m] = r["subset"][m]
        seconds.update(r["seconds"])
        shared.extend(r["shared_pass"])
        skipped.extend(r["skipped"])
    report = LocalizationReport(methods, full, subset, sizes.pop(), seconds, shared, skipped)
    meta = {"runs": [r["meta"] for r in runs]}
    for p in write_tables(report, args.out, args.stem, meta):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
