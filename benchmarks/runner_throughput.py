"""Dataset-run throughput, side by side in one process: the store, the folder layout, the floor, a peer loop.

    PYTHONPATH=src python benchmarks/runner_throughput.py --out results/runner/throughput.json

On the ImageNet subset (``../shared/data/imagenet-val-wsol-subset``, all 1,300 images by default) with the
default model (EfficientNet-Lite0, layer ``bn2``, Grad-CAM top-1), in interleaved rounds:

* ``forward only``: the floor — a no-grad forward pass over batches that are already decoded and
  preprocessed (the same batch size and memory format as the run);
* ``netloupe run --store``: everything a user waits for (read, decode, preprocess, the shared pass,
  resize, writing the Zarr store, journal, manifest), default workers/writers for this machine;
* ``netloupe run`` (folder layout): the same with one overlay PNG and one ``maps.npz`` per image;
* ``pytorch-grad-cam loop``: the loop a user writes with pytorch-grad-cam (scripts/bench_runner.py).

Then a stage breakdown of the store run (milliseconds per image, one batch at a time, same threads):
decode + preprocess, the no-grad forward, the Grad-CAM pass, and resize + store write. Throughput is a
ratio to the floor measured in the same run; absolute images/s depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts")]

import netloupe  # noqa: E402
from netloupe._paths import shared_data_dir  # noqa: E402
from netloupe.pipeline import ExplainCore, Reader, build_request, decode  # noqa: E402
from netloupe.pipeline.items import Item  # noqa: E402
from netloupe.pipeline.manifest import done_record  # noqa: E402
from netloupe.pipeline.sinks.store import StoreSink  # noqa: E402
from netloupe.runner import discover_items, run_dataset  # noqa: E402
from netloupe.runner.resources import resolve_parallelism, usable_cpus  # noqa: E402


def decoded_batches(items: list, reader: Reader, batch_size: int) -> list[torch.Tensor]:
    out = []
    for start in range(0, len(items), batch_size):
        got = [decode(reader, it.source, it.id) for it in items[start : start + batch_size]]
        out.append(torch.stack([g.tensor for g in got if isinstance(g, Item)]))
    return out


def forward_only(model: torch.nn.Module, batches: list[torch.Tensor]) -> float:
    t0 = time.perf_counter()
    with torch.no_grad():
        for x in batches:
            model(x.contiguous(memory_format=torch.channels_last))
    return time.perf_counter() - t0


def stages(loaded: netloupe.LoadedModel, items: list, batch_size: int, scratch: Path) -> dict[str, float]:
    """Milliseconds per image of each stage of a store run, timed one after another on the same batches."""
    request = build_request(loaded, ["gradcam"], top_k=1, grid="input", overlays=False, channels_last=True,
                            batch_size=batch_size)  # fmt: skip
    core = ExplainCore(request)
    reader = Reader(loaded.preprocess)
    sink = StoreSink(scratch / "stages.zarr", request, [it.id for it in items])
    t = {"decode_preprocess": 0.0, "forward_no_grad": 0.0, "gradcam_pass": 0.0, "resize_store_write": 0.0}
    for start in range(0, len(items), batch_size):
        s = time.perf_counter()
        batch = [decode(reader, it.source, it.id) for it in items[start : start + batch_size]]
        t["decode_preprocess"] += time.perf_counter() - s
        good = [b for b in batch if isinstance(b, Item)]
        x = torch.stack([b.tensor for b in good]).contiguous(memory_format=torch.channels_last)
        s = time.perf_counter()
        with torch.no_grad():
            core.model(x)
        t["forward_no_grad"] += time.perf_counter() - s
        s = time.perf_counter()
        core._pass([b.tensor for b in good])
        t["gradcam_pass"] += time.perf_counter() - s
        s = time.perf_counter()
        results = core.explain(good)
        sink.write(results, {r.id: done_record(r) for r in results})
        t["resize_store_write"] += time.perf_counter() - s
    t["resize_store_write"] -= t["gradcam_pass"]  # explain() = the pass + resize; the pass was timed alone
    sink.close()
    return {k: round(v / len(items) * 1e3, 2) for k, v in t.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = shared_data_dir()
    default = data / "imagenet-val-wsol-subset" / "images" if data else None
    parser.add_argument("--data", type=Path, default=default, help="image folder (default: the ImageNet subset)")
    parser.add_argument("--limit", type=int, default=None, help="first N images only (default: all)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--skip-peer", action="store_true", help="leave out the pytorch-grad-cam loop")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "runner" / "throughput.json")
    args = parser.parse_args()
    if args.data is None or not args.data.is_dir():
        sys.exit("error: --data: the ImageNet subset (../shared/data/imagenet-val-wsol-subset) was not found")
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = netloupe.load_model()
    model = loaded.model.eval().to(memory_format=torch.channels_last)
    items = discover_items(args.data, limit=args.limit)
    n = len(items)
    reader = Reader(loaded.preprocess)
    batches = decoded_batches(items, reader, args.batch_size)
    workers, writers = resolve_parallelism("local", None, None)
    names = ["forward only", "netloupe run --store", "netloupe run (folder layout)"]
    if not args.skip_peer:
        names.append("pytorch-grad-cam loop")
    times: dict[str, list[float]] = {name: [] for name in names}
    scratch = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    try:
        forward_only(model, batches[:1])  # warm-up
        for r in range(args.rounds):
            for name in names:
                out = scratch / f"{name.replace(' ', '_')}-{r}"
                t0 = time.perf_counter()
                if name == "forward only":
                    forward_only(model, batches)
                elif name == "pytorch-grad-cam loop":
                    from bench_runner import baseline

                    out.mkdir()
                    baseline([it.source for it in items], loaded, out)
                else:
                    store = out / "maps.zarr" if "store" in name else None
                    summary = run_dataset(args.data, loaded, ["gradcam"], out, top_k=1, limit=args.limit,
                                          batch_size=args.batch_size, store=store)  # fmt: skip
                    assert summary.done == n and not summary.failed, summary.failed[:3]
                times[name].append(time.perf_counter() - t0)
                print(f"round {r + 1}: {name}: {n / times[name][-1]:.2f} images/s", flush=True)
        breakdown = stages(loaded, items[: min(n, 256)], args.batch_size, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rates = {name: n / statistics.median(t) for name, t in times.items()}
    floor = rates["forward only"]
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "PYTHONPATH=src python " + " ".join(["benchmarks/runner_throughput.py", *sys.argv[1:]]),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"{usable_cpus()} usable CPUs, torch {torch.__version__}",
        "dataset": str(args.data),
        "images": n,
        "model": loaded.name,
        "method": "gradcam, top-1, layer bn2",
        "batch_size": args.batch_size,
        "run_defaults": {"workers": workers, "writers": writers},
        "rounds": args.rounds,
        "images_per_second": {k: round(v, 2) for k, v in rates.items()},
        "share_of_forward_only": {k: round(v / floor, 3) for k, v in rates.items()},
        "stage_ms_per_image": breakdown,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    lines = ["| configuration | images/s | share of forward-only |", "|---|---|---|"]
    lines += [f"| {k} | {v:.2f} | {v / floor:.0%} |" for k, v in rates.items()]
    lines += ["", "| stage (store run) | ms per image |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in breakdown.items()]
    text = "\n".join(lines)
    args.out.with_suffix(".md").write_text(
        f"# Dataset-run throughput\n\n{result['date']}, {result['machine']}, {n} images, batch {args.batch_size}.\n"
        f"Command: `{result['command']}`\n\n{text}\n"
    )
    print(text)


if __name__ == "__main__":
    main()
