"""3-D explanations end to end: a volume in, maps in the volume's own voxel grid (NIfTI) out.

``explain_volume`` resizes a :class:`~netloupe.io.medical.MedicalImage` to the model's input size, runs
``netloupe.explain`` on the ``(1, 1, D, H, W)`` batch (any CAM method; Conv3d layers work like Conv2d),
resamples each map back to the volume's grid and can save it with the input's affine.

For tests and demonstrations with a known answer, :func:`make_blob_volumes` builds volumes where the
evidence is a bright blob at a random, recorded position, and :func:`train_blob_detector` trains a small
:class:`~netloupe.models.medcnn.MedCNN3d` to tell volumes with a blob from volumes without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._typing import PathLikeStr
from ..errors import InputError
from ..io.medical import MedicalImage, resize_map, save_medical_explanation, to_model_input
from ..models.medcnn import MedCNN3d

__all__ = ["VolumeExplanation", "explain_volume", "insert_blob", "make_blob_volumes", "train_blob_detector"]


@dataclass
class VolumeExplanation:
    """Maps of one volume on its own grid, with the prediction they explain."""

    image: MedicalImage
    maps: dict[str, np.ndarray]
    class_id: int
    score: float
    probabilities: list[float] = field(default_factory=list)

    def save(self, out_dir: PathLikeStr, stem: str = "volume") -> dict[str, dict[str, str]]:
        """Per method: NIfTI map with the input's affine, montage PNG, ``.npy``, manifest."""
        extra = {"class_id": self.class_id, "score": self.score, "probabilities": self.probabilities}
        return {
            method: save_medical_explanation(self.image, heat, out_dir, f"{stem}_{method}", {**extra, "method": method})
            for method, heat in self.maps.items()
        }


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
    import netloupe

    if image.ndim != 3:
        raise InputError(f"image: explain_volume needs a 3-D volume, got shape {image.values.shape}")
    device = next(model.parameters()).device
    x = to_model_input(image, size=size, mean=mean, std=std).to(device)
    res = netloupe.explain(model, x, methods=list(methods), targets=target, layer=layer)
    maps = {m: resize_map(res.maps[m][0, 0].detach().cpu(), image.shape) for m in methods}
    class_id = int(res.class_ids[0, 0]) if res.class_ids is not None else -1
    probs = res.probabilities[0].detach().cpu().tolist() if res.probabilities is not None else []
    return VolumeExplanation(image, maps, class_id, float(res.scores[0, 0]), probs)


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
