"""ECG200: train a recipe with seeds 0-4 and write the test accuracy of each, their mean and sd.

    PYTHONPATH=src python scripts/ecg200_seeds.py --arch lstm --out results/sequence/ecg200_lstm

Writes ``<out>.json`` and ``<out>.md`` (machine, date, command). Data: $NETLOUPE_DATA/ecg200 (UCR ECG200,
read by path; never copied).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from netloupe.io.atomic import atomic_write_text
from netloupe.sequence.recipes import train_ecg200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default="lstm", choices=["lstm", "cnn", "bilstm"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", default=None, help="the ecg200 folder (default: shared data)")
    parser.add_argument("--last", action="store_true", help="train on all 100 TRAIN beats, keep the last epoch")
    parser.add_argument("--out", required=True, help="output stem (writes STEM.json and STEM.md)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    runs = []
    for seed in range(args.seeds):
        res = train_ecg200(args.data, args.arch, 0, seed, validation=not args.last)
        runs.append({"seed": seed, "accuracy": res.metrics["accuracy"], "best_epoch": res.bundle.meta["best_epoch"]})
        print(runs[-1], flush=True)
    accs = [r["accuracy"] for r in runs]
    summary = {
        "arch": args.arch,
        "epoch_selection": "last epoch, all 100 TRAIN beats" if args.last else "best on 20 TRAIN beats",
        "model": res.bundle.model.config,
        "runs": runs,
        "mean": round(statistics.mean(accs), 2),
        "sd": round(statistics.stdev(accs), 2) if len(accs) > 1 else 0.0,
        "split": res.split,
        "command": "PYTHONPATH=src python " + " ".join(sys.argv),
        "machine": f"{platform.machine()} CPU shared by several jobs, torch {torch.__version__}, 1 thread",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    stem = Path(args.out)
    atomic_write_text(stem.with_suffix(".json"), json.dumps(summary, indent=2) + "\n")
    rows = "\n".join(f"| {r['seed']} | {r['accuracy']:.1f} | {r['best_epoch']} |" for r in runs)
    atomic_write_text(
        stem.with_suffix(".md"),
        f"# ECG200 `{args.arch}`: test accuracy over seeds 0-{args.seeds - 1}\n\n"
        f"Mean **{summary['mean']:.1f} %**, sd {summary['sd']:.1f} (sample sd, n = {len(accs)}). {res.split}.\n\n"
        "| seed | test accuracy % | kept epoch |\n|---:|---:|---:|\n" + rows + "\n\n"
        f"Command: `{summary['command']}`. Measured {summary['date']} on {summary['machine']}; "
        f"wall time {summary['wall_seconds']:.0f} s.\n",
    )


if __name__ == "__main__":
    main()
