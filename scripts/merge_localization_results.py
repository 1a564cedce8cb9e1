"""Merge ``netloupe localize`` JSON outputs of separate runs (e.g. Score-CAM run in its own process on the
same seeded subset) into one paper-shaped table.

Usage::

    PYTHONPATH=src python scripts/merge_localization_results.py out/imagenet-main/localization.json \
        out/imagenet-scorecam/localization.json --out results/localization --stem imagenet_localization

Methods evaluated only on the subset (Score-CAM) also appear in the all-images table with their subset
numbers; the ``n`` column shows how many images each row covers. A method listed in several runs keeps the
row that covers the most images; ``--subset-from`` names the run whose
same-subset table is used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from netloupe.evaluation.studies.localization import LocalizationReport, write_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stem", default="localization")
    parser.add_argument(
        "--subset-from", type=Path, default=None, help="take the same-subset table from this run's JSON"
    )
    args = parser.parse_args(argv)
    runs = [json.loads(p.read_text()) for p in args.inputs]
    sizes = {r["subset_size"] for r in runs}
    seeds = {r["meta"].get("seed") for r in runs}
    if args.subset_from is None and (len(sizes) != 1 or len(seeds) != 1):
        raise SystemExit(f"runs use different subsets (sizes {sizes}, seeds {seeds}); cannot merge")
    methods, full, subset, seconds, shared, skipped = [], {}, {}, {}, [], []
    for r in runs:
        for m in r["meta"]["methods"]:
            row = r["all"].get(m, r["subset"][m])
            if m in full and full[m].get("n", 0) >= row.get("n", 0):
                continue  # keep the row that covers more images
            if m not in full:
                methods.append(m)
            full[m] = row
            subset[m] = r["subset"][m]
            seconds[m] = r["seconds"].get(m)
        shared.extend(m for m in r["shared_pass"] if m not in shared)
        skipped.extend(s for s in r["skipped"] if s not in skipped)
    size = sizes.pop() if len(sizes) == 1 else 0
    if args.subset_from is not None:
        sub_run = json.loads(args.subset_from.read_text())
        subset, size = sub_run["subset"], sub_run["subset_size"]
    report = LocalizationReport(methods, full, subset, size, seconds, shared, skipped)
    meta = {"runs": [r["meta"] for r in runs]}
    for p in write_tables(report, args.out, args.stem, meta):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
