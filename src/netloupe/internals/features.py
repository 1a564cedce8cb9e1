"""Feature vectors of a whole image set, batched, saved to a reusable ``.npz``.

The penultimate-layer vector (the input of the classifier's last linear layer) is the representation a
linear classifier reads; Krizhevsky et al. (2012, Sec. 6.1) compare images by the Euclidean distance
of these vectors. Any named layer can be used instead; a spatial output ``(N, C, *S)`` is pooled over
its positions: ``avg`` gives ``f_c = mean_s A_c[s]``, ``max`` gives ``f_c = max_s A_c[s]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from .._progress import track
from .._state import eval_mode
from .._typing import PathLikeStr
from ..errors import InputError
from ..io.atomic import atomic_write
from ..models.preprocess import ImagePreprocess
from ._hooks import PENULTIMATE, capture
from .data import ImageSet

__all__ = ["FeatureSet", "extract_features", "pixel_vectors", "pool_features"]

Pool = Literal["avg", "max"]


@dataclass
class FeatureSet:
    """One feature vector per image, with what is needed to reuse it.

    Attributes:
        features: ``(N, D)`` float32.
        labels: ``(N,)`` int labels or None.
        names: image identifiers, in order.
        class_names: label names or None.
        layer: the layer the vectors come from.
        model: the model's name.
        source: the image collection.
    """

    features: np.ndarray
    labels: np.ndarray | None
    names: list[str]
    class_names: list[str] | None = None
    layer: str = PENULTIMATE
    model: str = ""
    source: str = ""

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def save(self, path: PathLikeStr) -> Path:
        """Write an ``.npz`` atomically (a temporary name renamed when complete)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "layer": self.layer,
            "model": self.model,
            "source": self.source,
            "class_names": self.class_names,
        }
        arrays: dict[str, np.ndarray] = {
            "features": self.features.astype(np.float32),
            "names": np.array(self.names, dtype=str),
            "meta": np.array(json.dumps(meta)),
        }
        if self.labels is not None:
            arrays["labels"] = self.labels.astype(np.int64)
        return atomic_write(path, lambda tmp: np.savez_compressed(tmp, **arrays), keep_suffix=True)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: PathLikeStr) -> FeatureSet:
        """Read a file written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as z:
            if "features" not in z:
                raise InputError(f"features: {path} is not a netloupe feature file (no 'features' array)")
            meta = json.loads(str(z["meta"])) if "meta" in z else {}
            return cls(
                features=z["features"].astype(np.float32),
                labels=z["labels"].astype(np.int64) if "labels" in z else None,
                names=[str(n) for n in z["names"]] if "names" in z else [str(i) for i in range(len(z["features"]))],
                class_names=meta.get("class_names"),
                layer=meta.get("layer", ""),
                model=meta.get("model", ""),
                source=meta.get("source", ""),
            )


def pool_features(out: Tensor, pool: Pool = "avg") -> Tensor:
    """``(N, D)`` stays; ``(N, C, *spatial)`` is pooled over positions by ``avg`` or ``max``."""
    if out.ndim == 2:
        return out
    if out.ndim < 2:
        raise InputError(f"layer: output of shape {tuple(out.shape)} cannot be a per-image feature vector")
    flat = out.flatten(2)
    if pool == "avg":
        return flat.mean(dim=2)
    if pool == "max":
        return flat.amax(dim=2)
    raise InputError(f"pool: expected 'avg' or 'max', got {pool!r}")


def _batches(n: int, batch_size: int) -> list[range]:
    if batch_size < 1:
        raise InputError(f"batch_size: expected a positive integer, got {batch_size}")
    return [range(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def extract_features(
    model: nn.Module,
    images: ImageSet,
    preprocess: ImagePreprocess,
    layer: str = PENULTIMATE,
    pool: Pool = "avg",
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    progress: bool = False,
    model_name: str = "",
) -> FeatureSet:
    """Feature vectors of every image of ``images`` (see the module docstring).

    Args:
        model: the network; left in the training mode it was found in.
        images: the collection (:func:`~netloupe.internals.data.load_image_set`).
        preprocess: the model's preprocessing (resizes, so mixed image sizes are fine).
        layer: ``"penultimate"`` or a module name.
        pool: how a spatial output is reduced to a vector.
        batch_size: images per forward pass.
        device: where the model runs.
        progress: show a progress bar.
        model_name: recorded in the result.
    """
    if len(images) == 0:
        raise InputError("images: the collection is empty")
    dev = torch.device(device)
    chunks: list[Tensor] = []
    with eval_mode(model), capture(model, layer) as store, torch.no_grad():
        for batch in track(
            _batches(len(images), batch_size), len(_batches(len(images), batch_size)), "features", progress
        ):
            x = preprocess.batch(images.images(batch)).to(dev)
            model(x)
            if "out" not in store:
                raise InputError(
                    f"layer: {layer!r} was not seen in the forward pass (a TorchScript model does not call "
                    "Python hooks; load it as an nn.Module)"
                )
            chunks.append(pool_features(store["out"], pool).float().cpu())
    return FeatureSet(
        features=torch.cat(chunks).numpy(),
        labels=None if images.labels is None else images.labels.copy(),
        names=list(images.names),
        class_names=images.class_names,
        layer=layer,
        model=model_name,
        source=images.source,
    )


def pixel_vectors(
    images: ImageSet | Sequence[Image.Image], size: tuple[int, int] | None = (32, 32), grey: bool = False
) -> np.ndarray:
    """Raw pixels as vectors, ``(N, H*W*C)`` in [0, 1]: the baseline space for nearest neighbours.

    Images are resized (bilinear) to ``size`` = (height, width), which also makes mixed sizes comparable;
    ``size=None`` keeps the native size and requires every image to have the same one.
    """
    pils = images.images(range(len(images))) if isinstance(images, ImageSet) else list(images)
    if not pils:
        raise InputError("images: expected at least one image")
    if size is None:
        sizes = sorted({im.size for im in pils})
        if len(sizes) > 1:
            raise InputError(
                f"images: mixed image sizes {', '.join(f'{w}x{h}' for w, h in sizes[:4])}"
                f"{' ...' if len(sizes) > 4 else ''} cannot be compared pixel by pixel; pass "
                "size=(H, W) to resize"
            )
    mode = "L" if grey else "RGB"
    out = []
    for im in pils:
        im = im.convert(mode)
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        out.append(np.asarray(im, dtype=np.float32).reshape(-1) / 255.0)
    return np.stack(out)
