"""Per-image cost of each stage of `netloupe run` on one CPU thread (the basis of docs/scale.md).

    PYTHONPATH=src python scripts/runner_stages.py --limit 128 --out results/runner/stages.json

Stages: decode + preprocess (a DataLoader worker's job), the shared Grad-CAM pass (batch 32), the
no-grad forward pass alone (the floor), resize + overlay on the device, and writing (PNG + npz, a
writer thread's job). Each is timed over the same images; milliseconds per image are reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import netloupe  # noqa: E402
from netloupe._paths import shared_data_dir  # noqa: E402
from netloupe.runner.data import collate_decoded, decode_item  # noqa: E402
from netloupe.runner.items import discover_items  # noqa: E402
from netloupe.runner.process import BatchProcessor, write_item  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = shared_data_dir()
    parser.add_argument("--data", type=Path, default=data / "imagenet-val-wsol-subset" / "images" if data else None)
    parser.add_argument("--limit", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "runner" / "stages.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = netloupe.load_model()
    items = discover_items(args.data, limit=args.limit)
    proc = BatchProcessor(loaded, ["gradcam"], 1, None, "cpu")
    t = {"decode_preprocess": 0.0, "forward_no_grad": 0.0, "gradcam_pass": 0.0, "resize_overlay": 0.0, "write": 0.0}
    warm = collate_decoded([decode_item(0, items[0], loaded.preprocess)])
    proc.process(warm.indices, warm.inputs, warm.images)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(items), args.batch_size):
            chunk = items[start : start + args.batch_size]
            s = time.perf_counter()
            batch = collate_decoded([decode_item(i, it, loaded.preprocess) for i, it in enumerate(chunk)])
            t["decode_preprocess"] += time.perf_counter() - s
            x = batch.inputs.contiguous(memory_format=torch.channels_last)  # type: ignore[union-attr]
            s = time.perf_counter()
            with torch.no_grad():
                proc.model(x)
            t["forward_no_grad"] += time.perf_counter() - s
            s = time.perf_counter()
            proc.explain(x)
            t["gradcam_pass"] += time.perf_counter() - s
            s = time.perf_counter()
            outs = proc.process(batch.indices, x, batch.images)
            t["resize_overlay"] += time.perf_counter() - s - 0.0
            s = time.perf_counter()
            for o in outs:
                write_item(Path(tmp), chunk[o.index], o, proc.layers)
            t["write"] += time.perf_counter() - s
    n = len(items)
    t["resize_overlay"] -= t["gradcam_pass"]  # process() = pass + resize/overlay; the pass was timed alone
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "PYTHONPATH=src python scripts/runner_stages.py " + " ".join(sys.argv[1:]),
        "images": n,
        "batch_size": args.batch_size,
        "torch_threads": 1,
        "ms_per_image": {k: round(v / n * 1e3, 2) for k, v in t.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["ms_per_image"], indent=2))


if __name__ == "__main__":
    main()
