"""One batch on the device: maps for every method (one shared pass), resized to each image's own
size and blended into overlays on the device; then each item's files are written atomically.

The overlay is :func:`netloupe.viz.overlay.overlay` computed in torch on a whole group of
same-sized images at once (the same formula, the same turbo lookup table), so that only PNG
encoding is left to the writer threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from .._typing import LayersSpec
from ..cam.engine import Explainer, Explanation, maps_at_size
from ..errors import NetloupeError
from ..io.results import _label_slug
from ..models.zoo import LoadedModel
from ..targets import TopK
from ..viz.colormaps import apply_colormap
from .items import DatasetItem

__all__ = [
    "BatchProcessor",
    "ItemOutput",
    "SystematicFailure",
    "compiled_layer",
    "failed_record",
    "overlay_batch",
    "process_batch",
    "write_item",
]

ALPHA = 0.5
TMP_SUFFIX = ".part"


@lru_cache(maxsize=4)
def _lut_cpu(cmap: str) -> Tensor:
    # Values (i + 0.5) / 255 land exactly on lookup index i in apply_colormap (it truncates v * 255).
    centres = ((np.arange(256) + 0.5) / 255.0).astype(np.float32)
    return torch.from_numpy(apply_colormap(centres, cmap).copy())


def overlay_batch(images: Tensor, maps: Tensor, alpha: float = ALPHA, cmap: str = "turbo") -> Tensor:
    """Overlays of ``maps`` (B, K, H, W) in [0, 1] on ``images`` (B, H, W, 3) uint8 -> (B, K, H, W, 3) uint8.

    Equals :func:`netloupe.viz.overlay.overlay` per image and map:
    ``round((1 - w) * image + w * colour(map))`` with ``w = alpha * (0.35 + 0.65 * map)``.
    """
    lut = _lut_cpu(cmap).to(maps.device)
    idx = (maps.nan_to_num(0.0) * 255.0).clamp(0, 255).to(torch.uint8).long()
    heat = lut[idx].float()
    weight = (alpha * (0.35 + 0.65 * maps.clamp(0, 1))).unsqueeze(-1)
    base = images.to(maps.device).float().unsqueeze(1)
    return (base * (1 - weight) + heat * weight).round().to(torch.uint8)


@dataclass
class ItemOutput:
    """Everything one item's files are made of (arrays on the host)."""

    index: int
    width: int
    height: int
    class_ids: list[int]
    labels: list[str]
    probabilities: list[float]
    maps: dict[str, np.ndarray]  # method -> (K, H, W) float32
    overlays: dict[str, np.ndarray]  # method -> (K, H, W, 3) uint8


_COMPILED_PREFIX = "_orig_mod."


def compiled_layer(model: torch.nn.Module, layer: LayersSpec) -> LayersSpec:
    """A layer name of the original model, as seen in its ``torch.compile`` wrapper.

    ``torch.compile(model)`` returns a module whose submodules are named ``_orig_mod.<name>``; the
    hooks then work on the compiled graph (dynamo runs them), so the same layer can be explained.
    """
    inner = getattr(model, "_orig_mod", None)
    if not isinstance(layer, str) or not isinstance(inner, torch.nn.Module):
        return layer
    if layer in dict(model.named_modules()):
        return layer
    return _COMPILED_PREFIX + layer if layer in dict(inner.named_modules()) else layer


class BatchProcessor:
    """Holds the model and the :class:`Explainer`; turns a preprocessed batch into :class:`ItemOutput`s.

    Args:
        loaded: the model to explain (moved to ``device``).
        methods: registry names, computed in one shared pass per batch.
        top_k: the k most probable classes are explained.
        layer: target layer (default: the model's recommended layer, else automatic).
        device: where the pass, the resizing and the overlays run.
        compile: wrap the model with ``torch.compile`` (a model compiled by the caller works too).
        channels_last: run 2-D image batches in channels-last memory order (the model's weights are
            converted in place; about 1.5x faster convolutions on CPU, maps equal to ~1e-6).
    """

    def __init__(
        self,
        loaded: LoadedModel,
        methods: Sequence[str],
        top_k: int = 1,
        layer: LayersSpec = None,
        device: str | torch.device = "cpu",
        compile: bool = False,
        channels_last: bool = True,
    ) -> None:
        self.device = torch.device(device)
        self.channels_last = channels_last
        model = loaded.model.to(self.device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model: torch.nn.Module = torch.compile(model) if compile else model  # type: ignore[assignment]
        self.methods = list(methods)
        self.top_k = top_k
        target = compiled_layer(self.model, layer if layer is not None else loaded.target_layer)
        self.explainer = Explainer(self.model, target, class_names=loaded.class_names)
        self.layers: list[str] = []

    def explain(self, inputs: Tensor) -> Explanation:
        """The shared pass for a batch (raw maps at the layer's resolution; see ``maps_at_size``)."""
        x = inputs.to(self.device)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        res = self.explainer.explain(x, self.methods, TopK(self.top_k), upsample=False, normalize=False)
        self.layers = [name.removeprefix(_COMPILED_PREFIX) for name in res.layers]
        return res

    def process(self, indices: Sequence[int], inputs: Tensor, images: Sequence[Tensor]) -> list[ItemOutput]:
        """Maps at each image's own size and overlays, for one batch (same order as ``indices``)."""
        res = self.explain(inputs)
        probs = res.target_probabilities().cpu().tolist()
        labels = res.labels()
        ids = res.class_ids.cpu().tolist() if res.class_ids is not None else [[-1] * res.scores.shape[1]] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for row, im in enumerate(images):
            groups.setdefault((int(im.shape[0]), int(im.shape[1])), []).append(row)
        maps: list[dict[str, np.ndarray]] = [{} for _ in images]
        overlays: list[dict[str, np.ndarray]] = [{} for _ in images]
        for size, rows in groups.items():
            sel = torch.tensor(rows, device=self.device)
            originals = torch.stack([images[r] for r in rows]).to(self.device, non_blocking=True)
            for name, m in res.maps.items():
                resized = maps_at_size(m.index_select(0, sel), size)
                ov = overlay_batch(originals, resized).cpu().numpy()
                arr = resized.cpu().numpy().astype(np.float32, copy=False)
                for j, r in enumerate(rows):
                    maps[r][name] = arr[j]
                    overlays[r][name] = ov[j]
        return [
            ItemOutput(
                index=int(indices[r]),
                width=int(images[r].shape[1]),
                height=int(images[r].shape[0]),
                class_ids=ids[r],
                labels=labels[r],
                probabilities=[float(p) for p in probs[r]],
                maps=maps[r],
                overlays=overlays[r],
            )
            for r in range(len(images))
        ]


def _atomic(path: Path, write: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    write(tmp)  # type: ignore[operator]
    os.replace(tmp, path)


def write_item(out_dir: Path, item: DatasetItem, out: ItemOutput, layers: list[str]) -> dict[str, object]:
    """Write one item's overlays (PNG) and maps (``maps.npz``) under ``out_dir/<id>/``; return its record.

    Each file is written under a hidden temporary name and renamed into place, so a file that exists
    under its final name is complete. The record is what the journal and the manifest store.
    """
    folder = out_dir / item.id
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".*{TMP_SUFFIX}"):  # left by a run that was killed while writing
        stale.unlink(missing_ok=True)
    entries: list[dict[str, object]] = []
    for method, ovs in out.overlays.items():
        for k, (cls, label) in enumerate(zip(out.class_ids, out.labels, strict=True)):
            name = f"{method}_top{k + 1}_{_label_slug(label)}.png"
            _atomic(folder / name, lambda p, a=ovs[k]: Image.fromarray(a).save(p, format="PNG"))
            entries.append(
                {
                    "method": method,
                    "rank": k + 1,
                    "class_index": cls,
                    "label": label,
                    "layer": layers,
                    "overlay": f"{item.id}/{name}",
                    "array": f"{item.id}/maps.npz",
                    "array_key": method,
                    "array_index": k,
                }
            )

    def save_npz(p: Path) -> None:
        with p.open("wb") as fh:
            np.savez(fh, **out.maps)  # type: ignore[arg-type]

    _atomic(folder / "maps.npz", save_npz)
    return {
        "id": item.id,
        "source": item.source,
        "status": "done",
        "label": item.label,
        "width": out.width,
        "height": out.height,
        "predictions": [
            {"rank": r + 1, "class_index": c, "label": lab, "probability": round(p, 6)}
            for r, (c, lab, p) in enumerate(zip(out.class_ids, out.labels, out.probabilities, strict=True))
        ],
        "maps": entries,
    }


def failed_record(item: DatasetItem, reason: str) -> dict[str, object]:
    """The journal record of an item that could not be explained (one-line ``reason``)."""
    return {"id": item.id, "source": item.source, "status": "failed", "reason": reason}


class SystematicFailure(NetloupeError):
    """Every item of the first batch failed the same way: a bad option, not a bad item."""


def process_batch(
    processor: BatchProcessor,
    indices: Sequence[int],
    inputs: Tensor,
    images: Sequence[Tensor],
    items: Sequence[DatasetItem],
    first: bool = False,
) -> tuple[list[ItemOutput], list[dict[str, object]]]:
    """:meth:`BatchProcessor.process`, isolating an item that makes the pass fail.

    When the batch fails, its items are retried one by one and those that still fail become failure
    records. If ``first`` (nothing has succeeded yet) and every item fails, the error is raised
    instead: the job, not an item, is broken.
    """
    from .data import one_line

    try:
        return processor.process(indices, inputs, images), []
    except Exception as batch_exc:
        outs: list[ItemOutput] = []
        fails: list[dict[str, object]] = []
        for j, idx in enumerate(indices):
            try:
                outs += processor.process([idx], inputs[j : j + 1], [images[j]])
            except Exception as exc:
                fails.append(failed_record(items[idx], one_line(exc)))
        if first and not outs:
            raise SystematicFailure(
                f"run: every item of the first batch failed, so the job itself is broken: {one_line(batch_exc)}"
            ) from batch_exc
        return outs, fails
