"""3-D explanations end to end: a volume in, maps in the volume's own voxel grid (NIfTI) out.

``explain_volume`` resizes a :class:`~netloupe.io.medical.MedicalImage` to the model's input size and runs
the explain job's core on the ``(1, 1, D, H, W)`` batch (any CAM method; Conv3d layers work like Conv2d):
each map comes back on the volume's grid and saves with the input's affine.

For tests and demonstrations with a known answer, :func:`make_blob_volumes` builds volumes where the
evidence is a bright blob at a random, recorded position, and :func:`train_blob_detector` trains a small
:class:`~netloupe.models.medcnn.MedCNN3d` to tell volumes with a blob from volumes without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._typing import PathLikeStr
from ..errors import InputError
from ..io.medical import MedicalImage, to_model_input
from ..models.medcnn import MedCNN3d
from ..models.preprocess import ImagePreprocess
from ..models.zoo import LoadedModel
from ..pipeline import ExplainCore, ExplainRun, Item, build_request

__all__ = ["VolumeExplanation", "explain_volume", "insert_blob", "make_blob_volumes", "train_blob_detector"]


@dataclass
class VolumeExplanation:
    """Maps of one volume on its own grid, with the prediction they explain.

    ``run`` is the explain job's result; :meth:`save` writes it like ``netloupe explain`` does (NIfTI
    maps with the input's affine, a montage per map, ``maps.npz``, the manifest).
    """

    image: MedicalImage
    maps: dict[str, np.ndarray]
    class_id: int
    score: float
    probabilities: list[float] = field(default_factory=list)
    run: ExplainRun | None = None

    def save(self, out_dir: PathLikeStr, stem: str = "volume") -> Path:
        """Write the maps under ``out_dir/<stem>/`` and the manifest; returns the manifest's path."""
        if self.run is None:
            raise InputError("save: this explanation was not made by explain_volume")
        self.run.results[0].item.id = stem
        return self.run.save(out_dir, figures=False)


def explain_volume(
    model: nn.Module,
    image: MedicalImage,
    methods: Sequence[str] = ("gradcam",),
    size: Sequence[int] | None = None,
    target: int | None = None,
    layer: str | None = None,
    mean: float = 0.5,
    std: float = 0.5,
) -> VolumeExplanation:
    """Explain a 3-D model on one volume; maps come back on the volume's voxel grid.

    Args:
        model: a Conv3d classifier taking ``(N, 1, D, H, W)``.
        image: a 3-D MedicalImage (its ``display`` grey levels feed the model).
        methods: CAM method names.
        size: the model's input size (None: the volume's own grid).
        target: class to explain (None: the predicted class).
        layer: target layer (None: automatic).
        mean: normalisation mean of the model's inputs (on [0, 1] grey levels).
        std: normalisation standard deviation.
    """
    if image.ndim != 3:
        raise InputError(f"image: explain_volume needs a 3-D volume, got shape {image.values.shape}")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    loaded = LoadedModel("volume-model", model, ImagePreprocess(size=None), [], target_layer=layer, input_kind="volume")
    request = build_request(loaded, list(methods), top_k=1, target=target, layer=layer, device=device)
    source = str(image.source) if image.source is not None else "volume"
    tensor = to_model_input(image, size=size, mean=mean, std=std)[0]
    item = Item(id="volume", source=source, tensor=tensor, medical=image)
    core = ExplainCore(request)
    result = core.explain([item])[0]
    maps = {m: result.maps[m][0] for m in request.methods}
    run = ExplainRun(request, [result], core.layers)
    return VolumeExplanation(image, maps, result.class_ids[0], result.scores[0], result.probabilities, run)


def insert_blob(volume: Tensor, center: Sequence[int], radius: float, value: float) -> tuple[Tensor, Tensor]:
    """A copy of ``volume`` (``(..., D, H, W)``) with a ball set to ``value``; returns ``(volume, mask)``."""
    d, h, w = volume.shape[-3:]
    zz, yy, xx = torch.meshgrid(torch.arange(d), torch.arange(h), torch.arange(w), indexing="ij")
    dist2 = (zz - center[0]) ** 2 + (yy - center[1]) ** 2 + (xx - center[2]) ** 2
    mask = dist2.float() <= radius**2
    out = volume.clone()
    out[..., mask] = value
    return out, mask


def make_blob_volumes(
    n: int,
    size: int = 16,
    radius: float = 2.0,
    seed: int = 0,
    background: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Volumes ``(n, 1, S, S, S)`` in [0, 1], labels ``(n,)`` (1 = has a blob), blob masks ``(n, S, S, S)``.

    Background: smoothed uniform noise in [0, 0.6], or random ``S``-cubed crops of ``background`` (a real
    volume scaled to [0, 1], flipped at random) when given. Half of the volumes (label 1) get a ball of
    radius ``radius`` and value 1 at a random position at least ``radius`` from the faces.
    """
    g = torch.Generator().manual_seed(seed)
    if background is None:
        noise = torch.rand(n, 1, size + 2, size + 2, size + 2, generator=g)
        vols = F.avg_pool3d(noise, 3, stride=1) * 0.6
    else:
        if background.ndim != 3 or min(background.shape) < size:
            raise InputError(
                f"background: expected a 3-D volume at least {size} per axis, got {tuple(background.shape)}"
            )
        crops = []
        for _ in range(n):
            o = [int(torch.randint(0, s - size + 1, (1,), generator=g)) for s in background.shape]
            crop = background[o[0] : o[0] + size, o[1] : o[1] + size, o[2] : o[2] + size]
            flips = [a for a in range(3) if bool(torch.rand(1, generator=g) < 0.5)]
            crops.append(crop.flip(flips) if flips else crop)
        vols = torch.stack(crops)[:, None].float() * 0.8
    labels = (torch.arange(n) % 2).long()
    masks = torch.zeros(n, size, size, size, dtype=torch.bool)
    lo, hi = int(np.ceil(radius)), size - int(np.ceil(radius))
    for i in torch.nonzero(labels)[:, 0].tolist():
        c = torch.randint(lo, hi, (3,), generator=g).tolist()
        vols[i], masks[i] = insert_blob(vols[i], c, radius, 1.0)
    return vols, labels, masks


def train_blob_detector(
    steps: int = 150,
    size: int = 16,
    seed: int = 0,
    background: Tensor | None = None,
    width: int = 8,
    batch_size: int = 16,
) -> MedCNN3d:
    """Train a :class:`MedCNN3d` on fresh :func:`make_blob_volumes` batches (seconds on one CPU thread)."""
    torch.manual_seed(seed)
    model = MedCNN3d(1, 2, width=width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for step in range(steps):
        x, y, _ = make_blob_volumes(batch_size, size=size, seed=seed * 100003 + step, background=background)
        loss = F.cross_entropy(model((x - 0.5) / 0.5), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()
