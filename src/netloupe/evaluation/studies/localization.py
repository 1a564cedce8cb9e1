"""Dataset-scale localization evaluation: maps for many methods, metrics, paper-shaped tables.

``run_localization`` explains every item of a :class:`~netloupe.io.annotations.LocalizationDataset` for
its ground-truth class with each method, in batches, and feeds the evaluation accumulators
(:mod:`netloupe.evaluation`). Gradient CAMs share ONE forward + backward per batch. Score-CAM costs one
forward pass per channel and image (1,280 for EfficientNet-Lite0), so it runs on a fixed random subset
(``scorecam_subset`` items, seeded); every method is also reported on that same subset, so the rows
of the subset table compare like with like.

Besides the registered CAM methods (``netloupe.available_methods()``) four baselines are known:
``backprop`` (plain input gradient, Simonyan et al. 2014), ``center`` (centred Gaussian, Choe et al.
2020), ``random`` (uniform noise) and ``sobel`` (edge magnitude).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ...errors import InputError, UnknownMethod, did_you_mean
from ...io.annotations import LocalizationItem, load_mask
from ...io.atomic import atomic_write
from ...models.zoo import LoadedModel
from ..baselines import center_gaussian_maps, gradient_maps, random_maps, sobel_maps
from ..boxes import boxes_from_maps, mask_to_box
from ..localization import LocalizationAccumulator, MaxBoxAccumulator, PointingGameAccumulator
from ..masks import MaskAccumulator
from . import StageProgress

__all__ = [
    "BASELINES",
    "DEFAULT_SCORECAM_SUBSET",
    "LocalizationReport",
    "run_localization",
    "write_tables",
]

BASELINES = ("backprop", "center", "random", "sobel")
DEFAULT_SCORECAM_SUBSET = 100
_EXPENSIVE = ("scorecam", "ablationcam")  # one forward pass per channel: subset only


@dataclass
class _Accumulators:
    loc: LocalizationAccumulator = field(default_factory=LocalizationAccumulator)
    maxbox: MaxBoxAccumulator | None = None
    pointing: PointingGameAccumulator = field(default_factory=PointingGameAccumulator)
    mask: MaskAccumulator | None = None
    seconds: float = 0.0

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.loc.n:
            out.update(self.loc.compute())
        if self.maxbox is not None and self.maxbox.n:
            out.update(self.maxbox.compute())
        if self.pointing.n:
            out.update(self.pointing.compute())
        if self.mask is not None and self.mask.n:
            out.update(self.mask.compute())
        return out


@dataclass
class LocalizationReport:
    """Per-method results on all items and on the shared subset, plus what was skipped."""

    methods: list[str]
    full: dict[str, dict[str, float]]
    subset: dict[str, dict[str, float]]
    subset_size: int
    seconds: dict[str, float]
    shared_pass: list[str]
    skipped: list[str] = field(default_factory=list)
    examples: str | None = None


def _validate_methods(methods: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    import netloupe

    registered = list(netloupe.available_methods())
    unknown = [m for m in methods if m not in registered and m not in BASELINES]
    if unknown:
        hint = did_you_mean(unknown[0], [*registered, *BASELINES])
        raise UnknownMethod(
            f"methods: unknown method {unknown[0]!r}{hint}; known: {', '.join([*registered, *BASELINES])}"
        )
    cheap = [m for m in methods if m in registered and m not in _EXPENSIVE]
    expensive = [m for m in methods if m in _EXPENSIVE]
    baselines = [m for m in methods if m in BASELINES]
    return cheap, expensive, baselines


def _load_batch(loaded: LoadedModel, items: Sequence[LocalizationItem]) -> Tensor:
    images = []
    for it in items:
        with Image.open(it.image) as im:
            images.append(im.convert("RGB"))
    return loaded.preprocess.batch(images)


def _maps_for(
    loaded: LoadedModel, x: Tensor, labels: Tensor, methods: Sequence[str], kind: str, seed: int
) -> tuple[dict[str, Tensor], Tensor | None, dict[str, float]]:
    """Maps (N, h, w) at the model's input size for ``methods`` of one kind; logits if computed."""
    import netloupe

    model = loaded.model
    times: dict[str, float] = {}
    if kind == "cam":
        t = time.perf_counter()
        res = netloupe.explain(model, x, methods=list(methods), targets=labels.tolist())
        elapsed = time.perf_counter() - t
        times = dict.fromkeys(methods, elapsed)
        return {m: res.maps[m][:, 0].detach() for m in methods}, res.logits.detach(), times
    out: dict[str, Tensor] = {}
    n, _, h, w = x.shape
    for m in methods:
        t = time.perf_counter()
        if m == "backprop":
            out[m] = gradient_maps(model, x, labels)
        elif m == "center":
            out[m] = center_gaussian_maps(n, h, w, device=x.device)
        elif m == "random":
            out[m] = random_maps(n, h, w, seed=seed, device=x.device)
        elif m == "sobel":
            out[m] = sobel_maps(x)
        times[m] = time.perf_counter() - t
    return out, None, times


def _ground_truth(items: Sequence[LocalizationItem], device: torch.device) -> tuple[Tensor, Tensor | None]:
    """GT boxes (N, M, 4) NaN-padded (mask bounding boxes where no boxes are given) and masks or None."""
    masks = None
    if all(it.mask is not None for it in items):
        masks = torch.stack([torch.from_numpy(load_mask(it.mask)) for it in items if it.mask]).to(device)
    per_item = []
    for i, it in enumerate(items):
        if it.boxes:
            per_item.append(torch.tensor(it.boxes, dtype=torch.float32))
        elif masks is not None:
            per_item.append(mask_to_box(masks[i])[None])
        else:
            per_item.append(torch.full((1, 4), float("nan")))
    m = max(b.shape[0] for b in per_item)
    gt = torch.full((len(items), m, 4), float("nan"))
    for i, b in enumerate(per_item):
        gt[i, : b.shape[0]] = b
    return gt.to(device), masks


def _update(acc: _Accumulators, maps: Tensor, logits: Tensor, labels: Tensor, gt: Tensor, masks: Tensor | None) -> None:
    boxes = cast(Tensor, boxes_from_maps(maps, 0.2))
    acc.loc.update(logits, labels, boxes, gt)
    if acc.maxbox is not None:
        acc.maxbox.update(maps, gt)
    if masks is not None:
        acc.pointing.update(maps, gt_masks=masks)
        if acc.mask is not None:
            acc.mask.update(maps, masks)
    else:
        acc.pointing.update(maps, gt_boxes=gt)


def run_localization(
    models: LoadedModel | Mapping[Hashable, LoadedModel],
    items: Sequence[LocalizationItem] | Mapping[Hashable, Sequence[LocalizationItem]],
    methods: Sequence[str],
    *,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    scorecam_subset: int = DEFAULT_SCORECAM_SUBSET,
    maxboxacc: bool = True,
    maxboxacc_step: float = 0.01,
    seed: int = 0,
    example_dir: Path | None = None,
    n_examples: int = 4,
    progress: StageProgress | None = None,
) -> LocalizationReport:
    """Explain every item for its label with every method and compute localization metrics.

    Args:
        models: one model, or one per group (e.g. cross-validation folds: each group's items are
            explained by its own model).
        items: the items, or a mapping group -> items matching ``models``.
        methods: registered CAM names and/or baselines (``backprop``, ``center``, ``random``, ``sobel``).
        batch_size: images per batch.
        device: where the model runs.
        scorecam_subset: number of items (seeded random choice) for the subset table and Score-CAM.
        maxboxacc: also compute MaxBoxAccV2 (the most expensive metric: connected components at every
            threshold).
        maxboxacc_step: spacing of its threshold grid (Choe et al. use 0.01).
        seed: seed of the subset choice and the random baseline.
        example_dir: where to write ``examples.png`` (predicted vs true boxes); None to skip.
        n_examples: images in that figure.
        progress: ``callback(description, done, total)``.
    """
    if not isinstance(models, Mapping):
        models = {0: models}
    if not isinstance(items, Mapping):
        items = {0: list(items)}
    if set(models) != set(items):
        raise InputError("models/items: the groups of models and of items must match")
    cheap, expensive, baselines = _validate_methods(methods)
    dev = torch.device(device)
    flat = [(g, i) for g in items for i in range(len(items[g]))]
    if not flat:
        raise InputError("items: nothing to evaluate (every item was skipped?)")
    k = min(scorecam_subset, len(flat))
    subset = set(random.Random(seed).sample(flat, k))
    has_masks = all(it.mask is not None for g in items for it in items[g])

    def make() -> _Accumulators:
        return _Accumulators(
            maxbox=MaxBoxAccumulator(thresholds=torch.arange(0.0, 1.0 - 1e-9, maxboxacc_step)) if maxboxacc else None,
            mask=MaskAccumulator() if has_masks else None,
        )

    full = {m: make() for m in methods if m not in expensive}
    sub = {m: make() for m in methods}
    examples: dict[str, list[tuple[LocalizationItem, Tensor, Tensor]]] = {m: [] for m in methods}
    example_keys = sorted(subset, key=lambda gi: flat.index(gi))[:n_examples]
    skipped: list[str] = []
    total = (len(flat) if cheap or baselines else 0) + (k if expensive else 0)
    done = 0
    for g, group_items in items.items():
        loaded = models[g]
        loaded.model.to(dev)
        passes = [("all", list(range(len(group_items))), cheap, baselines)] if cheap or baselines else []
        if expensive:
            passes.append(("subset", [i for i in range(len(group_items)) if (g, i) in subset], expensive, []))
        for _, indices, cams, bases in passes:
            for start in range(0, len(indices), batch_size):
                idx = indices[start : start + batch_size]
                batch = [group_items[i] for i in idx]
                try:
                    x = _load_batch(loaded, batch).to(dev)
                except (OSError, InputError) as exc:
                    skipped.append(f"batch starting at {batch[0].image.name}: cannot load images ({exc})")
                    continue
                labels = torch.tensor([it.label if it.label is not None else -1 for it in batch], device=dev)
                maps: dict[str, Tensor] = {}
                times: dict[str, float] = {}
                logits = None
                if cams:
                    maps, logits, times = _maps_for(loaded, x, labels, cams, "cam", seed + start)
                if bases:
                    more, _, t2 = _maps_for(loaded, x, labels, bases, "base", seed + start)
                    maps.update(more)
                    times.update(t2)
                if logits is None:
                    with torch.no_grad():
                        logits = loaded.model.eval()(x)
                logits = logits.reshape(logits.shape[0], -1)
                # metrics at each image's own resolution, one group per image size
                sizes: dict[tuple[int, int], list[int]] = {}
                for j, it in enumerate(batch):
                    sizes.setdefault(it.size, []).append(j)
                for (w, h), js in sizes.items():
                    sel = torch.tensor(js, device=dev)
                    gt, masks = _ground_truth([batch[j] for j in js], dev)
                    in_sub = torch.tensor([(g, idx[j]) in subset for j in js], device=dev)
                    for m, mp in maps.items():
                        t = time.perf_counter()
                        mi = F.interpolate(mp[sel][:, None].float(), size=(h, w), mode="bilinear", align_corners=False)
                        mi = mi[:, 0]
                        args = (mi, logits[sel], labels[sel], gt, masks)
                        if m in full:
                            _update(full[m], *args)
                        if in_sub.any():
                            s = in_sub.nonzero()[:, 0]
                            _update(
                                sub[m],
                                mi[s],
                                logits[sel][s],
                                labels[sel][s],
                                gt[s],
                                None if masks is None else masks[s],
                            )
                        (full[m] if m in full else sub[m]).seconds += time.perf_counter() - t
                        for jj, j in enumerate(js):
                            if (g, idx[j]) in example_keys and len(examples[m]) < n_examples:
                                box = cast(Tensor, boxes_from_maps(mi[jj : jj + 1], 0.2))
                                examples[m].append((batch[j], mi[jj].cpu(), box[0].cpu()))
                for m, spent in times.items():  # map computation, once per batch
                    (full[m] if m in full else sub[m]).seconds += spent
                done += len(batch)
                if progress is not None:
                    progress(f"{g}" if len(items) > 1 else "images", done, total)
    seconds = {m: round(a.seconds, 1) for m, a in full.items()}
    seconds.update({m: round(sub[m].seconds, 1) for m in expensive})
    example_path = None
    if example_dir is not None and any(examples.values()):
        example_path = str(_draw_examples(examples, methods, Path(example_dir)))
    return LocalizationReport(
        methods=list(methods),
        full={m: a.summary() for m, a in full.items()},
        subset={m: a.summary() for m, a in sub.items()},
        subset_size=k,
        seconds=seconds,
        shared_pass=cheap,
        skipped=skipped,
        examples=example_path,
    )


def _draw_examples(
    examples: Mapping[str, list[tuple[LocalizationItem, Tensor, Tensor]]],
    methods: Sequence[str],
    out_dir: Path,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows = max(len(v) for v in examples.values())
    cols = len(methods)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.9 * rows), squeeze=False)
    for c, m in enumerate(methods):
        for r in range(rows):
            ax = axes[r][c]
            ax.axis("off")
            if r >= len(examples[m]):
                continue
            item, heat, box = examples[m][r]
            with Image.open(item.image) as im:
                ax.imshow(np.asarray(im.convert("RGB")))
            ax.imshow(heat.numpy(), cmap="jet", alpha=0.4)
            if item.mask is not None:
                ax.contour(load_mask(item.mask), levels=[0.5], colors="lime", linewidths=1.0)
            for b in item.boxes:
                ax.add_patch(Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, ec="lime", lw=1.2))
            x0, y0, x1, y1 = box.tolist()
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="red", lw=1.2, ls="--"))
            if r == 0:
                ax.set_title(m, fontsize=8)
    fig.suptitle("green: ground truth, red dashed: box from the map (CAM protocol, 20% of max)", fontsize=8)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "examples.png"
    atomic_write(path, lambda p: fig.savefig(p, dpi=72, format="png"))
    plt.close(fig)
    return path


_BOX_COLUMNS = [
    ("top1_cls_error", "Top-1 cls err (%)"),
    ("top5_cls_error", "Top-5 cls err (%)"),
    ("top1_loc_error", "Top-1 loc err (%)"),
    ("top5_loc_error", "Top-5 loc err (%)"),
    ("gt_known_loc_error", "GT-known loc err (%)"),
    ("maxboxacc_v2", "MaxBoxAccV2 (%)"),
    ("pointing_game", "Pointing game (%)"),
]
_MASK_COLUMNS = [
    ("top1_cls_error", "Cls err (%)"),
    ("pointing_game", "Pointing game (%)"),
    ("energy_in_mask", "Energy in mask (%)"),
    ("pxap", "PxAP (%)"),
    ("piou", "PIoU (%)"),
    ("gt_known_loc_error", "GT-known loc err, mask bbox (%)"),
    ("maxboxacc_v2", "MaxBoxAccV2 (%)"),
]


def _table(results: Mapping[str, Mapping[str, float]], columns: str, seconds: Mapping[str, float] | None) -> list[dict]:
    cols = _BOX_COLUMNS if columns == "boxes" else _MASK_COLUMNS
    rows = []
    for method, r in results.items():
        row: dict[str, Any] = {"Method": method, "n": int(r.get("n", 0))}
        for key, title in cols:
            row[title] = round(100 * r[key], 1) if key in r else None
        if seconds is not None:
            row["Wall time (s)"] = seconds.get(method)
        rows.append(row)
    return rows


def _markdown(rows: list[dict]) -> str:
    if not rows:
        return ""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        lines.append("| " + " | ".join("" if r[h] is None else str(r[h]) for h in head) + " |")
    return "\n".join(lines) + "\n"


def write_tables(
    report: LocalizationReport,
    out_dir: Path,
    stem: str,
    meta: Mapping[str, Any] | None = None,
    columns: str = "boxes",
) -> list[Path]:
    """Write ``<stem>.md``, ``<stem>.csv`` and ``<stem>.json`` (full set and same-subset tables).

    Markdown has method rows and classification / localization error columns, as the CAM and
    Grad-CAM papers' tables; JSON holds every number, including MaxBoxAcc at each IoU and the
    best thresholds.
    """
    import csv
    import io

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    full_rows = _table(report.full, columns, report.seconds)
    sub_rows = _table(report.subset, columns, None)
    note = []
    if report.shared_pass:
        note.append(
            f"Wall time: {', '.join(report.shared_pass)} share one forward + backward per batch; "
            "their time is that shared pass plus each method's own metric time."
        )
    expensive = [m for m in report.methods if m in _EXPENSIVE]
    if expensive:
        note.append(
            f"{', '.join(expensive)}: on the seeded random subset of {report.subset_size} images only "
            "(see the "
            "second table, where every method is scored on that subset); wall time is for that subset."
        )
    md = [f"## All images\n\n{_markdown(full_rows)}"]
    md.append(f"\n## Same random subset ({report.subset_size} images)\n\n{_markdown(sub_rows)}")
    if note:
        md.append("\n" + "\n".join(f"- {n}" for n in note) + "\n")
    if report.skipped:
        md.append(f"\nSkipped: {len(report.skipped)} item(s) (listed in {stem}.json).\n")
    paths = []
    target = out_dir / f"{stem}.md"
    atomic_write(target, lambda p: Path(p).write_text("".join(md)))
    paths.append(target)
    buf = io.StringIO()
    all_rows = [{"table": "all", **r} for r in full_rows] + [{"table": "subset", **r} for r in sub_rows]
    fields = ["table", *dict.fromkeys(k for r in all_rows for k in r if k != "table")]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(all_rows)
    target = out_dir / f"{stem}.csv"
    atomic_write(target, lambda p: Path(p).write_text(buf.getvalue()))
    paths.append(target)
    payload = {
        "meta": dict(meta or {}),
        "all": report.full,
        "subset": report.subset,
        "subset_size": report.subset_size,
        "seconds": report.seconds,
        "shared_pass": report.shared_pass,
        "skipped": report.skipped,
    }
    target = out_dir / f"{stem}.json"
    atomic_write(target, lambda p: Path(p).write_text(json.dumps(payload, indent=2) + "\n"))
    paths.append(target)
    return paths
