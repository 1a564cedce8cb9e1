"""Shortcut / bias audit: how much of a model's map energy falls inside regions that should not matter.

For every image the map of the explained class (Grad-CAM by default; Selvaraju et al., 2017) is
computed and its energy share inside the audit region is measured with
:func:`netloupe.evaluation.energy.energy_share` (``sum_R L / sum L``). Per class we report the mean and
median share, the region's area fraction and the *concentration* ``mean share / area fraction`` (1 for a
map spread uniformly). Verdict (a heuristic, stated in the report): "shortcut likely" when the mean share
is at least ``share_alarm`` (0.3) and the concentration at least ``concentration_alarm`` (3); "inspect"
when the concentration is at least 1.5; otherwise "no sign of a shortcut in this region".

Choose a layer whose resolution resolves the region: last-layer maps of small CNNs are coarse (7x7 for
28-pixel inputs), so a marker of a few pixels spreads over its neighbourhood; Layer-CAM on an earlier stage
(``--method layercam --layer features.stage1`` for the medical models) localises it (``results/medical/``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .._state import eval_mode
from .._typing import PathLikeStr
from ..errors import InputError
from ..evaluation.energy import area_fraction, border_mask, box_mask, corner_mask, energy_share
from ..io.atomic import atomic_write, atomic_write_text

__all__ = ["AuditResult", "parse_region", "run_audit", "verdict"]

_CORNER_CODES = {
    "tl": "tl",
    "tr": "tr",
    "bl": "bl",
    "br": "br",
    "top-left": "tl",
    "top-right": "tr",
    "bottom-left": "bl",
    "bottom-right": "br",
}


def parse_region(spec: str, shape: Sequence[int]) -> tuple[Tensor, str]:
    """A region from text, in model-input pixels: returns ``(mask (H, W) bool, description)``.

    Forms: ``borders:W`` (a frame W pixels wide), ``corners:S`` (S x S squares in all four corners),
    ``corner:tr:S`` (one corner: tl, tr, bl, br), ``box:x0,y0,x1,y1`` (end exclusive; several boxes
    separated by ``;``), ``mask:PATH`` (an image; pixels > 50 % grey, resized to the model input).
    """
    h, w = int(shape[-2]), int(shape[-1])
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    try:
        if kind in ("border", "borders"):
            return border_mask((h, w), int(arg or 2)), f"borders {int(arg or 2)} px"
        if kind == "corners":
            return corner_mask((h, w), int(arg or 4)), f"four corners {int(arg or 4)} px"
        if kind == "corner":
            where, _, size = arg.partition(":")
            code = _CORNER_CODES.get(where.strip().lower())
            if code is None:
                raise InputError(f"region: corner must be one of tl, tr, bl, br, got {where!r}")
            return corner_mask((h, w), int(size or 4), [code]), f"corner {code} {int(size or 4)} px"
        if kind == "box":
            boxes = [[float(v) for v in part.split(",")] for part in arg.split(";") if part.strip()]
            if not boxes or any(len(b) != 4 for b in boxes):
                raise InputError(f"region: box needs x0,y0,x1,y1 (several separated by ';'), got {arg!r}")
            return box_mask((h, w), boxes).any(dim=0), f"box {arg}"
        if kind == "mask":
            from PIL import Image

            path = Path(arg)
            if not path.is_file():
                raise InputError(f"region: mask file {path} does not exist")
            grey = Image.open(path).convert("L").resize((w, h), Image.Resampling.BILINEAR)
            return torch.from_numpy(np.asarray(grey) > 127), f"mask {path.name}"
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"region: cannot parse {spec!r} ({exc})") from exc
    raise InputError(f"region: expected borders:W, corners:S, corner:tr:S, box:x0,y0,x1,y1 or mask:PATH, got {spec!r}")


def verdict(mean_share: float, fraction: float, share_alarm: float = 0.3, concentration_alarm: float = 3.0) -> str:
    """The audit's heuristic verdict from a mean energy share and the region's area fraction."""
    concentration = mean_share / fraction if fraction > 0 else float("inf")
    if mean_share >= share_alarm and concentration >= concentration_alarm:
        return "shortcut likely"
    if concentration >= 1.5:
        return "inspect"
    return "no sign of a shortcut in this region"


@dataclass
class AuditResult:
    """Per-image shares and per-class summary of one audit."""

    region: str
    method: str
    class_names: list[str]
    labels: Tensor
    predictions: Tensor
    shares: Tensor
    fraction: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    overall: dict[str, Any] = field(default_factory=dict)
    example_images: Tensor | None = None
    example_maps: Tensor | None = None
    example_index: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "method": self.method,
            "area_fraction": round(self.fraction, 4),
            "per_class": self.rows,
            "overall": self.overall,
        }

    def markdown(self) -> str:
        head = (
            "| class | n | accuracy | mean share | median share | concentration | verdict |\n"
            "|---|---|---|---|---|---|---|\n"
        )
        body = "".join(
            f"| {r['class']} | {r['n']} | {r['accuracy']:.3f} | {r['mean_share']:.3f} | {r['median_share']:.3f} "
            f"| {r['concentration']:.2f} | {r['verdict']} |\n"
            for r in [*self.rows, {**self.overall, "class": "all"}]
        )
        return f"Region: {self.region} (area fraction {self.fraction:.3f}); method: {self.method}\n\n{head}{body}"

    def save(self, out_dir: PathLikeStr, denormalize: Any = None) -> dict[str, str]:
        """Write ``audit.json``, ``audit.md`` and ``examples.png``; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, text in (("audit.json", json.dumps(self.to_dict(), indent=2)), ("audit.md", self.markdown())):
            atomic_write_text(out / name, text)
            written[name] = str(out / name)
        if self.example_images is not None and self.example_maps is not None:
            written["examples.png"] = str(self._figure(out / "examples.png", denormalize))
        return written

    def _figure(self, path: Path, denormalize: Any) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..viz.medical import overlay_rgb

        assert self.example_images is not None and self.example_maps is not None
        n = len(self.example_index)
        fig, axes = plt.subplots(2, n, figsize=(1.9 * n, 4.1), squeeze=False)
        for j, i in enumerate(self.example_index):
            img = self.example_images[j]
            img = denormalize(img) if denormalize is not None else (img - img.min()) / (img.max() - img.min() + 1e-12)
            grey = img.mean(0).numpy()
            axes[0, j].imshow(grey, cmap="gray", vmin=0, vmax=1)
            axes[0, j].set_title(f"{self.class_names[int(self.labels[i])]}", fontsize=8)
            axes[1, j].imshow(overlay_rgb(grey, self.example_maps[j].numpy()))
            pred = self.class_names[int(self.predictions[i])]
            axes[1, j].set_title(f"pred {pred}\nshare {float(self.shares[i]):.2f}", fontsize=8)
        for ax in axes.ravel():
            ax.axis("off")
        fig.suptitle(f"{self.method} maps; region: {self.region}", fontsize=9)
        fig.tight_layout()
        try:
            return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100), keep_suffix=True)
        finally:
            plt.close(fig)


@torch.no_grad()
def _predict(model: nn.Module, images: Tensor, batch_size: int) -> Tensor:
    return torch.cat([model(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


def compute_maps(
    model: nn.Module, images: Tensor, method: str, layer: str | None, targets: Tensor, batch_size: int = 128
) -> Tensor:
    """Raw (unnormalised, ReLU'd, upsampled to the input) maps ``(N, H, W)`` of the given class per image."""
    import netloupe

    maps = []
    for i in range(0, len(images), batch_size):
        res = netloupe.explain(
            model,
            images[i : i + batch_size],
            methods=[method],
            targets=targets[i : i + batch_size].tolist(),
            layer=layer,
            normalize=False,
            relu=True,
            upsample=True,
        )
        maps.append(res.maps[method][:, 0].detach().float().cpu())
    return torch.cat(maps)


def run_audit(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    region: Tensor,
    class_names: Sequence[str],
    region_name: str = "region",
    method: str = "gradcam",
    layer: str | None = None,
    explain_label: bool = False,
    n_examples: int = 8,
    batch_size: int = 128,
) -> AuditResult:
    """Audit a model on a batch of preprocessed images ``(N, C, H, W)`` with labels ``(N,)``.

    Args:
        model: the classifier (eval mode is set for the audit and restored by the engine).
        images: model inputs.
        labels: true classes.
        region: ``(H, W)`` bool mask in model-input pixels (see :func:`parse_region`).
        class_names: names of the classes.
        region_name: how the region is described in the report.
        method: a CAM method registry key.
        layer: target layer (None: automatic).
        explain_label: explain the true class instead of the predicted one.
        n_examples: how many images (the highest shares first) to keep for the example figure.
        batch_size: images per explain call.
    """
    if images.ndim != 4 or labels.shape != (images.shape[0],):
        raise InputError(
            f"images/labels: expected (N, C, H, W) and (N,), got {tuple(images.shape)} and {tuple(labels.shape)}"
        )
    if tuple(region.shape) != tuple(images.shape[-2:]):
        raise InputError(f"region: expected the input size {tuple(images.shape[-2:])}, got {tuple(region.shape)}")
    with eval_mode(model):
        predictions = _predict(model, images, batch_size).argmax(dim=1).cpu()
    targets = labels if explain_label else predictions
    maps = compute_maps(model, images, method, layer, targets, batch_size)
    shares = energy_share(maps, region.to(torch.bool))
    fraction = float(area_fraction(region))
    rows = []
    for c, name in enumerate(class_names):
        sel = labels == c
        if not bool(sel.any()):
            continue
        rows.append(_row(name, shares[sel], predictions[sel] == labels[sel], fraction))
    overall = _row("all", shares, predictions == labels, fraction)
    top = torch.nan_to_num(shares, nan=-1.0).argsort(descending=True)[:n_examples].tolist()
    return AuditResult(
        region=region_name,
        method=method,
        class_names=list(class_names),
        labels=labels.cpu(),
        predictions=predictions,
        shares=shares,
        fraction=fraction,
        rows=rows,
        overall=overall,
        example_images=images[top].cpu(),
        example_maps=maps[top],
        example_index=top,
    )


def _row(name: str, shares: Tensor, correct: Tensor, fraction: float) -> dict[str, Any]:
    mean = float(torch.nanmean(shares))
    return {
        "class": name,
        "n": int(shares.numel()),
        "accuracy": round(float(correct.double().mean()), 4),
        "mean_share": round(mean, 4),
        "median_share": round(float(torch.nanmedian(shares)), 4),
        "concentration": round(mean / fraction, 3) if fraction > 0 else float("inf"),
        "verdict": verdict(mean, fraction),
    }
