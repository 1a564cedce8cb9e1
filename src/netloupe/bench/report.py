"""Benchmark results on disk: raw JSON, a Markdown table, a summary pivot and a chart."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ..runner.resources import usable_cpus
from .peers import LIBRARIES
from .suite import FLOOR, BenchRow

__all__ = ["cpu_name", "load_results", "load_rows", "plot_results", "summary_rows", "summary_table", "write_results"]

_MODEL_NAMES = {"resnet50": "ResNet-50", "resnet18": "ResNet-18", "efficientnet-lite0": "EfficientNet-Lite0"}
_CASE_NAMES = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "layercam": "Layer-CAM",
    "scorecam": "Score-CAM",
    "five gradient methods": "Five gradient methods at once",
    "gradcam top-5 classes": "Grad-CAM of the top-5 classes at once",
}


def cpu_name() -> str:
    """The processor's model name and the cores this process may use, e.g. "AMD EPYC 7B13 (2 cores)"."""
    name = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    return f"{name} ({usable_cpus()} cores)"


def load_results(path: Path) -> dict[str, Any]:
    """An earlier run's JSON (``meta``, ``rows``, ``memory``)."""
    if not path.is_file():
        raise FileNotFoundError(2, "No earlier benchmark results", str(path))
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load_rows(path: Path) -> list[BenchRow]:
    """Timing rows of an earlier run (to re-measure memory only)."""
    return [BenchRow(**row) for row in load_results(path)["rows"]]


def _ratio_cell(row: BenchRow) -> str:
    if row.ratio_q1 is None or row.ratio_q3 is None:
        return f"{row.ratio_to_forward:.2f}"
    return f"{row.ratio_to_forward:.2f} ({row.ratio_q1:.2f}-{row.ratio_q3:.2f})"


def _short(model: str, batch: int) -> str:
    return f"{_MODEL_NAMES.get(model, model)}\nbatch {batch}"


def _label(model: str, batch: int, case: str) -> str:
    return f"{_CASE_NAMES.get(case, case)}, {_MODEL_NAMES.get(model, model)}, batch {batch}"


def summary_rows(rows: Sequence[BenchRow], memory: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One row per (case, model, batch): a label, then one cell per library (x no-grad forward, best in **).

    The "five methods" and "top-5 classes" rows also quote netloupe's single-method ratio of the same
    run; the memory rows quote plain no-grad inference.
    """
    table: list[list[str]] = []
    groups: dict[tuple[str, int, str], dict[str, BenchRow]] = {}
    for r in rows:
        if r.library != FLOOR:
            groups.setdefault((r.model, r.batch, r.case), {})[r.library] = r
    for (model, batch, case), by_lib in groups.items():
        best = min(round(r.ratio_to_forward, 2) for r in by_lib.values())  # ties as printed are all bold
        cells = []
        for lib in LIBRARIES:
            row = by_lib.get(lib)
            if row is None:
                cells.append("–")
                continue
            cell = f"{row.ratio_to_forward:.2f}x"
            if len(by_lib) > 1 and round(row.ratio_to_forward, 2) == best:
                cell = f"**{cell}**"
            if lib == "netloupe" and case in ("five gradient methods", "gradcam top-5 classes"):
                one = groups.get((model, batch, "gradcam"), {}).get("netloupe")
                if one is not None:
                    cell += f" (one {'method' if case.startswith('five') else 'class'}: {one.ratio_to_forward:.2f}x)"
            corr = row.extra.get("corr_with_netloupe")
            if corr is not None:
                cell += f", r={corr:.3f}"
            cells.append(cell)
        table.append([_label(model, batch, case), *cells])
    floors = {(m["model"], m["batch"]): m["peak_extra_mb"] for m in memory if m["library"] == FLOOR}
    by_case: dict[tuple[str, int], dict[str, float]] = {}
    for m in memory:
        if m["library"] != FLOOR:
            by_case.setdefault((m["model"], m["batch"]), {})[m["library"]] = m["peak_extra_mb"]
    for (model, batch), mb_by_lib in by_case.items():
        best_mb = min(mb_by_lib.values())
        cells = []
        for lib in LIBRARIES:
            mb = mb_by_lib.get(lib)
            cell = "–" if mb is None else f"{mb:.0f} MB"
            cells.append(f"**{cell}**" if mb is not None and mb == best_mb else cell)
        plain = floors.get((model, batch))
        label = f"peak extra memory, Grad-CAM, {_MODEL_NAMES.get(model, model)}, batch {batch}"
        if plain is not None:
            label += f" (no-grad inference: {plain:.0f} MB)"
        table.append([label, *cells])
    return table


def summary_table(rows: Sequence[BenchRow], memory: Sequence[dict[str, Any]]) -> list[str]:
    """:func:`summary_rows` as Markdown lines (header first)."""
    header = ["case", *LIBRARIES]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in summary_rows(rows, memory)]


def write_results(
    rows: list[BenchRow],
    memory: list[dict[str, Any]],
    out_dir: Path,
    device: torch.device,
    command: str,
) -> Path:
    """Raw JSON, a Markdown table and a chart (``<device>.json/.md/.png``); returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": command,
        "platform": platform.platform(),
        "timing": "interleaved rounds in shuffled order; ratio = median of per-round ratios to the no-grad forward",
    }
    tag = device.type
    (out_dir / f"{tag}.json").write_text(
        json.dumps({"meta": meta, "rows": [asdict(r) for r in rows], "memory": memory}, indent=2) + "\n"
    )
    lines = [
        f"# Benchmark ({tag})",
        "",
        f"`{command}` — {meta['date']}, {meta['device']}, torch {meta['torch']}, {meta['threads']} threads.",
        "",
        "Ratios are to a plain no-grad forward pass of the same batch, timed in the same rounds (lower is",
        "better); `r` is the Pearson correlation of a peer's maps with netloupe's for the same case.",
        "",
        "## Summary",
        "",
        *summary_table(rows, memory),
        "",
        "## Every row",
        "",
        "| model | batch | case | library | median s/batch | images/s | x no-grad forward (IQR) | rounds | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        note = ", ".join(f"{k}={v}" for k, v in r.extra.items())
        lines.append(
            f"| {r.model} | {r.batch} | {r.case} | {r.library} | {r.median_s:.4f} | {r.images_per_s:.2f} | "
            f"{_ratio_cell(r)} | {r.repeats} | {note} |"
        )
    if memory:
        lines += [
            "",
            "Peak extra memory (fresh process per row; CPU: RSS, CUDA: max allocated):",
            "",
            "| model | batch | library | peak extra MB |",
            "|---|---|---|---|",
        ]
        lines += [f"| {m['model']} | {m['batch']} | {m['library']} | {m['peak_extra_mb']} |" for m in memory]
    md = out_dir / f"{tag}.md"
    md.write_text("\n".join(lines) + "\n")
    plot_results(rows, memory, out_dir / f"{tag}.png", title=f"{tag.upper()}: {meta['device']}, {meta['date'][:10]}")
    return md


Series = dict[str, dict[Any, tuple[float, float, float]]]


def _bars(ax: Any, keys: list[Any], series: Series, colors: dict[str, str]) -> None:
    """Horizontal grouped bars: one group per key, one bar per series (value, low whisker, high whisker)."""
    height = 0.8 / max(1, len(series))
    for j, (name, values) in enumerate(series.items()):
        pts = [(i, values[k]) for i, k in enumerate(keys) if k in values]
        if not pts:
            continue
        ys = [i + (j - (len(series) - 1) / 2) * height for i, _ in pts]
        xs = [v[0] for _, v in pts]
        err = [[v[0] - v[1] for _, v in pts], [v[2] - v[0] for _, v in pts]]
        ax.barh(ys, xs, height=height, color=colors.get(name, "#999999"), label=name, xerr=err, error_kw={"lw": 0.8})
    ax.invert_yaxis()


def _ratio_series(rows: Sequence[BenchRow]) -> Series:
    series: Series = {lib: {} for lib in LIBRARIES}
    for r in rows:
        q1 = r.ratio_q1 if r.ratio_q1 is not None else r.ratio_to_forward
        q3 = r.ratio_q3 if r.ratio_q3 is not None else r.ratio_to_forward
        series[r.library][(r.model, r.batch, r.case)] = (r.ratio_to_forward, q1, q3)
    return series


def plot_results(rows: Sequence[BenchRow], memory: Sequence[dict[str, Any]], path: Path, title: str = "") -> Path:
    """The benchmark as a picture: gradient CAMs and Score-CAM as multiples of the no-grad forward pass
    (median, IQR whiskers), and peak extra memory next to plain inference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip([*LIBRARIES, FLOOR], ["#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#999999"], strict=True))
    timed = [r for r in rows if r.library != FLOOR]
    gradient = [r for r in timed if r.case != "scorecam"]
    scorecam = [r for r in timed if r.case == "scorecam"]
    keys = list(dict.fromkeys((r.model, r.batch, r.case) for r in gradient))
    side = [part for part, present in (("scorecam", scorecam), ("memory", memory)) if present]
    fig = plt.figure(figsize=(14 if side else 9, 0.36 * len(keys) + 2.0))
    grid = fig.add_gridspec(max(1, len(side)), 2 if side else 1, width_ratios=[3, 1.4] if side else [1])
    ax = fig.add_subplot(grid[:, 0])
    _bars(ax, keys, _ratio_series(gradient), colors)
    ax.set_yticks(range(len(keys)), [_label(*k) for k in keys], fontsize=8)
    ax.axvline(1.0, color="black", lw=0.8, ls="--")
    ax.set_xlabel("time per batch / no-grad forward pass of the same round (lower is better)")
    ax.set_title("gradient CAMs", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    for row, part in enumerate(side):
        pax = fig.add_subplot(grid[row, 1])
        if part == "scorecam":
            sc_keys = list(dict.fromkeys((r.model, r.batch, r.case) for r in scorecam))
            _bars(pax, sc_keys, _ratio_series(scorecam), colors)
            pax.set_yticks(range(len(sc_keys)), [_short(m, b) for m, b, _ in sc_keys], fontsize=8)
            pax.set_xlabel("x no-grad forward pass", fontsize=8)
            pax.set_title("Score-CAM (one image)", fontsize=9)
        else:
            mem_keys = list(dict.fromkeys((m["model"], m["batch"]) for m in memory))
            mem: Series = {}
            for m in memory:
                name = "no-grad inference" if m["library"] == FLOOR else m["library"]
                v = float(m["peak_extra_mb"])
                mem.setdefault(name, {})[(m["model"], m["batch"])] = (v, v, v)
            _bars(pax, mem_keys, mem, {**colors, "no-grad inference": colors[FLOOR]})
            pax.set_yticks(range(len(mem_keys)), [_short(m, b) for m, b in mem_keys], fontsize=8)
            pax.set_xlabel("peak extra memory of Grad-CAM (MB)", fontsize=8)
            pax.set_title("memory", fontsize=9)
            pax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
