"""Throughput of ``netloupe run`` vs a straightforward pytorch-grad-cam loop, measured in one run.

Both write the same outputs for every image: a PNG overlay of the top-1 Grad-CAM map at the image's
own resolution and the map as an array (pytorch-grad-cam: ``.npy``; netloupe: ``maps.npz``), with
the same model (``netloupe.load_model()``, EfficientNet-Lite0), the same layer (``bn2``) and the
same preprocessing. Model loading is excluded from both timings; everything else (reading, decoding,
the passes, resizing, overlays, encoding, writing, netloupe's journal and manifest) is included.

    PYTHONPATH=src python scripts/bench_runner.py --limit 200 --out results/runner/bench_runner.json

The configurations run interleaved (baseline, netloupe, ...) ``--rounds`` times; the median wall time
of each is reported. netloupe runs twice per round: with its defaults (``workers=None, writers=None``:
auto from the usable cores, see ``netloupe.runner.resources``; on 2 cores that is ``--workers 0
--writers 1``, decoding in the main thread and one thread writing behind the passes) and with an
explicit parallel pipeline (``--workers``, ``--writers``, default 2 and 4).
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

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import netloupe  # noqa: E402
from netloupe._paths import shared_data_dir  # noqa: E402
from netloupe.runner import discover_items, run_dataset  # noqa: E402
from netloupe.runner.resources import resolve_parallelism, usable_cpus  # noqa: E402


def baseline(paths: list[str], loaded: netloupe.LoadedModel, out: Path) -> None:
    """The loop a user writes with pytorch-grad-cam: one image at a time, maps at the image's size."""
    import cv2
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.image import show_cam_on_image

    model = loaded.model.eval()
    with GradCAM(model=model, target_layers=[model.bn2]) as cam:
        for path in paths:
            image = Image.open(path).convert("RGB")
            x = loaded.preprocess(image)[None]
            gray = cam(input_tensor=x, targets=None)[0]  # targets=None: the top-1 class
            gray = cv2.resize(gray, image.size, interpolation=cv2.INTER_LINEAR)
            rgb = np.asarray(image, dtype=np.float32) / 255.0
            visual = show_cam_on_image(rgb, gray, use_rgb=True)
            stem = Path(path).stem
            Image.fromarray(visual).save(out / f"{stem}.png")
            np.save(out / f"{stem}.npy", gray.astype(np.float32))


def agreement(base_out: Path, run_out: Path, n: int = 50) -> dict[str, float]:
    """Pearson correlation and top-1 agreement between the two tools' maps on the first ``n`` images."""
    manifest = json.loads((run_out / "manifest.json").read_text())
    rs = []
    for im in manifest["items"][:n]:
        with np.load(run_out / im["maps"][0]["array"]) as z:
            ours = z["gradcam"][0].ravel()
        theirs = np.load(base_out / f"{Path(im['source']).stem}.npy").ravel()
        rs.append(float(np.corrcoef(ours, theirs)[0, 1]))
    return {"images": len(rs), "pearson_median": float(np.median(rs)), "pearson_min": float(np.min(rs))}


def plot(json_paths: list[Path], out_png: Path) -> None:
    """Bar chart of images/s per configuration, one group per result file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [json.loads(p.read_text()) for p in json_paths]
    # Files written by older versions name the configurations differently; they come in the same order:
    # the baseline, the configuration that is the default on 2 cores, the parallel one.
    labels = [
        "pytorch-grad-cam loop",
        "netloupe run, default (on 2 cores: --workers 0 --writers 1)",
        "netloupe run --workers 2 --writers 4",
    ]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        xs, rates, ratios = [], [], []
        for g, r in enumerate(results):
            names = list(r["images_per_second"])
            if i < len(names):
                xs.append(g + i * width)
                rates.append(r["images_per_second"][names[i]])
                ratios.append(r["speedup_vs_pytorch_grad_cam"][names[i]])
        bars = ax.bar(xs, rates, width, label=label)
        for bar, ratio in zip(bars, ratios, strict=True):
            ax.annotate(
                f"{ratio:.2f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom"
            )
    ax.set_xticks([g + width * (len(labels) - 1) / 2 for g in range(len(results))])
    ax.set_xticklabels([f"{r['images']} images, {r['rounds']} round(s), {r['date'][:10]}" for r in results])
    ax.set_ylabel("images / s (higher is better)")
    ax.set_title("Grad-CAM top-1 + overlay PNG + array per image, 2 CPU cores", fontsize=10)
    top = max(max(r["images_per_second"].values()) for r in results)
    ax.set_ylim(0, top * 1.3)
    ax.legend(fontsize=7, loc="upper center", ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = shared_data_dir()
    default = data / "imagenet-val-wsol-subset" / "images" if data else None
    parser.add_argument("--data", type=Path, default=default, help="image folder (default: the ImageNet subset)")
    parser.add_argument("--limit", type=int, default=None, help="first N images only (default: all)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repetitions (median reported)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="netloupe DataLoader workers (parallel run)")
    parser.add_argument("--writers", type=int, default=4, help="netloupe writer threads (parallel run)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (both tools)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "runner" / "bench_runner.json")
    parser.add_argument("--plot", type=Path, nargs="+", help="only draw throughput.png from these result files")
    args = parser.parse_args()
    if args.plot:
        plot(args.plot, args.plot[0].parent / "throughput.png")
        return
    if args.data is None or not args.data.is_dir():
        sys.exit("error: --data: the ImageNet subset (../shared/data/imagenet-val-wsol-subset) was not found")
    torch.set_num_threads(args.threads)
    loaded = netloupe.load_model()
    items = discover_items(args.data, limit=args.limit)
    paths = [it.source for it in items]
    auto_workers, auto_writers = resolve_parallelism("local", None, None)
    default_name = f"netloupe run (default: auto -> workers {auto_workers}, writers {auto_writers})"
    # configuration -> (run_dataset's workers, writers); None: the baseline loop
    configs: dict[str, tuple[int | None, int | None] | None] = {
        "pytorch-grad-cam loop": None,
        default_name: (None, None),
        f"netloupe run (workers {args.workers}, writers {args.writers})": (args.workers, args.writers),
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    scratch = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    try:
        for r in range(args.rounds):
            for i, (name, options) in enumerate(configs.items()):
                out = scratch / f"config{i}-{r}"
                out.mkdir()
                t0 = time.perf_counter()
                if options is None:
                    baseline(paths, loaded, out)
                else:
                    summary = run_dataset(
                        args.data,
                        loaded,
                        ["gradcam"],
                        out,
                        top_k=1,
                        limit=args.limit,
                        batch_size=args.batch_size,
                        workers=options[0],
                        writers=options[1],
                        device="cpu",
                    )
                    assert summary.done == len(paths) and not summary.failed
                times[name].append(time.perf_counter() - t0)
                print(f"round {r + 1}: {name}: {len(paths) / times[name][-1]:.2f} images/s", flush=True)
        agree = agreement(scratch / "config0-0", scratch / "config1-0")  # baseline vs the default run
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rates = {name: len(paths) / statistics.median(t) for name, t in times.items()}
    base = rates["pytorch-grad-cam loop"]
    from importlib.metadata import version

    import pytorch_grad_cam  # noqa: F401

    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "PYTHONPATH=src python " + " ".join(["scripts/bench_runner.py", *sys.argv[1:]]),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
        f"{__import__('os').cpu_count()} logical CPUs ({usable_cpus()} usable, shared), torch {torch.__version__}, "
        f"grad-cam {version('grad-cam')}",
        "dataset": str(args.data),
        "images": len(paths),
        "model": loaded.name,
        "layer": "bn2",
        "method": "gradcam, top-1",
        "rounds": args.rounds,
        "netloupe_options": {
            "batch_size": args.batch_size,
            "default": {"workers": auto_workers, "writers": auto_writers},
            "parallel": {"workers": args.workers, "writers": args.writers},
        },
        "wall_seconds": times,
        "images_per_second": {k: round(v, 3) for k, v in rates.items()},
        "speedup_vs_pytorch_grad_cam": {k: round(v / base, 3) for k, v in rates.items()},
        "map_agreement": agree,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["images_per_second"], indent=2))
    print(json.dumps(result["speedup_vs_pytorch_grad_cam"], indent=2))
    print(json.dumps(agree))


if __name__ == "__main__":
    main()
