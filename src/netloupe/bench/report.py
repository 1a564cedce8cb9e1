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

from .peers import LIBRARIES
from .suite import FLOOR, BenchRow

__all__ = ["load_results", "load_rows", "plot_results", "summary_rows", "summary_table", "write_results"]

_MODEL_NAMES = {"resnet50": "ResNet-50", "resnet18": "ResNet-18", "efficientnet-lite0": "EfficientNet-Lite0"}
_CASE_NAMES = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "layercam": "Layer-CAM",
    "scorecam": "Score-CAM",
    "five gradient methods": "Five gradient methods at once",
    "gradcam top-5 classes": "Grad-CAM of the top-5 classes at once",
}


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
        best = min(r.ratio_to_forward for r in by_lib.values())
        cells = []
        for lib in LIBRARIES:
            found = by_lib.get(lib)
            if found is None:
                cells.append("–")
                continue
            r = found
            cell = f"{r.ratio_to_forward:.2f}x"
            if len(by_lib) > 1 and r.ratio_to_forward == best:
                cell = f"**{cell}**"
            if lib == "netloupe" and case in ("five gradient methods", "gradcam top-5 classes"):
                one = groups.get((model, batch, "gradcam"), {}).get("netloupe")
                if one is not None:
                    cell += f" (one {'method' if case.startswith('five') else 'class'}: {one.ratio_to_forward:.2f}x)"
            corr = r.extra.get("corr_with_netloupe")
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
    meta_extra: dict[str, Any] | None = None,
) -> Path:
    """Raw JSON, a Markdown table and a chart (``<device>.json/.md/.png``); returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": command,
        "platform": platform.platform(),
        "timing": "interleaved rounds in shuffled order; ratio = median of per-round ratios to the no-grad forward",
        **(meta_extra or {}),
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


def plot_results(rows: Sequence[BenchRow], memory: Sequence[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Grouped bars: time as a multiple of the no-grad forward (IQR whiskers) and peak extra memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip(LIBRARIES, ["#1b9e77", "#7570b3", "#d95f02", "#e7298a"], strict=False))
    timed = [r for r in rows if r.library != FLOOR]
    groups = list(dict.fromkeys((r.model, r.batch, r.case) for r in timed))
    panels = 2 if memory else 1
    fig, axes = plt.subplots(
        1, panels, figsize=(13 if memory else 9, 0.42 * len(groups) + 1.6), squeeze=False,
        gridspec_kw={"width_ratios": [3, 1.3][:panels]},
    )  # fmt: skip
    ax = axes[0][0]
    height = 0.8 / len(LIBRARIES)
    for j, lib in enumerate(LIBRARIES):
        ys, xs, lo, hi = [], [], [], []
        for i, key in enumerate(groups):
            match = [r for r in timed if (r.model, r.batch, r.case) == key and r.library == lib]
            if not match:
                continue
            r = match[0]
            ys.append(i + (j - (len(LIBRARIES) - 1) / 2) * height)
            xs.append(r.ratio_to_forward)
            lo.append(r.ratio_to_forward - (r.ratio_q1 if r.ratio_q1 is not None else r.ratio_to_forward))
            hi.append((r.ratio_q3 if r.ratio_q3 is not None else r.ratio_to_forward) - r.ratio_to_forward)
        if xs:
            ax.barh(ys, xs, height=height, color=colors[lib], label=lib, xerr=[lo, hi], error_kw={"lw": 0.8})
    ax.set_yticks(range(len(groups)), [_label(*g) for g in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8, ls="--")
    ax.set_xlabel("time per batch / no-grad forward pass (log scale; lower is better)")
    ax.legend(loc="lower right", fontsize=8)
    if memory:
        mem_ax = axes[0][1]
        keys = list(dict.fromkeys((m["model"], m["batch"]) for m in memory))
        libs = [FLOOR, *LIBRARIES]
        h = 0.8 / len(libs)
        for j, lib in enumerate(libs):
            vals = [
                (i, m["peak_extra_mb"])
                for i, key in enumerate(keys)
                for m in memory
                if (m["model"], m["batch"]) == key and m["library"] == lib
            ]
            if vals:
                mem_ax.barh(
                    [i + (j - (len(libs) - 1) / 2) * h for i, _ in vals], [v for _, v in vals], height=h,
                    color=colors.get(lib, "#999999"), label="no-grad inference" if lib == FLOOR else lib,
                )  # fmt: skip
        mem_ax.set_yticks(range(len(keys)), [f"{_MODEL_NAMES.get(m, m)}\nbatch {b}" for m, b in keys], fontsize=8)
        mem_ax.invert_yaxis()
        mem_ax.set_xlabel("peak extra memory, Grad-CAM (MB)")
        mem_ax.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
