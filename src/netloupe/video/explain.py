"""Maps over space and time for the video models, and their scores against the moving digit.

* CNN + LSTM: Grad-CAM per frame (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
  Gradient-based Localization", ICCV 2017) on the frame CNN's last convolution, with the gradients of the
  clip's class score (which reach every frame through the LSTM): for frame t, a_{t,k} = mean_{ij} dy/dA_{t,k,ij},
  map_t = ReLU(sum_k a_{t,k} A_{t,k}). Frames share one scale, so the maps also say *when*.
* Conv3d: Grad-CAM on the last 3-D convolution through :func:`netloupe.explain` on (N, C, T, H, W) inputs, a
  (T, H, W) map.

Scores: the per-frame pointing game (Zhang et al., "Top-down Neural Attention by Excitation Backprop",
ECCV 2016): a frame hits when the map's maximum lies within ``tolerance`` pixels of the moving digit's box;
and the temporal share: the fraction of a clip's map mass on the frames where the digit moves (the frames
that decide the class), against the fraction of such frames (chance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .data import VideoSet
from .models import CNNLSTM, Conv3DNet

__all__ = [
    "conv3d_gradcam",
    "explain_clips",
    "frame_attribution",
    "frame_gradcam",
    "load_shipped_video_models",
    "pointing_game",
    "score_maps",
    "temporal_share",
]


def frame_gradcam(model: CNNLSTM, videos: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
    """Grad-CAM of each frame for the clip's class: (N, T, H, W), upsampled, not normalised (>= 0).

    Args:
        model: the CNN + LSTM.
        videos: (N, T, 1, H, W).
        targets: (N,) classes to explain (default: the predicted ones).
    """
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            n, t = videos.shape[:2]
            logits, _, acts = model.forward_all(videos)
            if targets is None:
                targets = logits.argmax(1)
            score = logits.gather(1, targets[:, None]).sum()
            (grads,) = torch.autograd.grad(score, acts)
        weights = grads.mean((2, 3), keepdim=True)
        cams = F.relu((weights * acts).sum(1, keepdim=True)).detach()
        cams = F.interpolate(cams, size=videos.shape[-2:], mode="bilinear", align_corners=False)
        return cams.view(n, t, *videos.shape[-2:])
    finally:
        model.train(was_training)


def conv3d_gradcam(model: Conv3DNet, videos: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
    """Grad-CAM over (T, H, W) from ``netloupe.explain`` on the last 3-D convolution: (N, T, H, W), >= 0.

    Args:
        model: the Conv3d network.
        videos: (N, T, 1, H, W) (permuted to (N, 1, T, H, W) for the network).
        targets: (N,) classes to explain (default: the predicted ones).
    """
    from ..cam.engine import explain

    spec: Any = None if targets is None else [int(v) for v in targets.tolist()]
    result = explain(model, videos.permute(0, 2, 1, 3, 4), "gradcam", spec, "features.7", normalize=False)
    return result.maps["gradcam"][:, 0]


def frame_attribution(model: torch.nn.Module, videos: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Temporal attribution: |gradient x input| of the class score summed over each frame's pixels, (N, T).

    Gradient x input (Shrikumar et al. 2016, "Not Just a Black Box"): x * dy/dx per pixel, whichever network
    (the CNN + LSTM reads (N, T, 1, H, W); the Conv3d (N, 1, T, H, W), permuted here).
    """
    was_training = model.training
    model.eval()
    try:
        x = videos.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x) if isinstance(model, CNNLSTM) else model(x.permute(0, 2, 1, 3, 4))
            (grad,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x)
        return (grad * x).detach().abs().flatten(2).sum(-1)
    finally:
        model.train(was_training)


def pointing_game(maps: np.ndarray, boxes: np.ndarray, tolerance: int = 2) -> np.ndarray:
    """(N, T) bool: whether each frame's map maximum lies in the box (row0, col0, row1, col1) grown by
    ``tolerance`` pixels. Frames whose map is constant (e.g. all zero) miss.

    >>> m = np.zeros((1, 2, 6, 6)); m[0, 0, 1, 1] = 1; m[0, 1, 5, 5] = 1
    >>> pointing_game(m, np.array([[[0, 0, 2, 2], [0, 0, 2, 2]]]), tolerance=1).tolist()
    [[True, False]]
    """
    n, t, _, w = maps.shape
    flat = maps.reshape(n, t, -1)
    idx = flat.argmax(-1)
    rows, cols = idx // w, idx % w
    hit = (
        (rows >= boxes[..., 0] - tolerance)
        & (rows < boxes[..., 2] + tolerance)
        & (cols >= boxes[..., 1] - tolerance)
        & (cols < boxes[..., 3] + tolerance)
    )
    return hit & (flat.max(-1) > flat.min(-1))


def temporal_share(maps: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """(N,) fraction of each clip's map mass (sum over pixels of |map|) on its moving frames.

    >>> temporal_share(np.ones((1, 4, 2, 2)) * np.array([3, 1, 0, 0])[None, :, None, None],
    ...                np.array([[True, False, False, True]])).tolist()
    [0.75]
    """
    per_frame = np.abs(maps).reshape(*maps.shape[:2], -1).sum(-1)
    total = np.maximum(per_frame.sum(1), 1e-12)
    return (per_frame * moving).sum(1) / total


def temporal_scores(per_frame: np.ndarray, moving: np.ndarray) -> dict[str, float]:
    """Share of a (N, T) temporal attribution on the moving frames, and how often its peak frame moves.

    >>> temporal_scores(np.array([[1.0, 3.0, 0.0, 0.0]]), np.array([[False, True, True, False]]))
    {'temporal_share_moving': 0.75, 'peak_frame_is_moving': 1.0, 'temporal_share_chance': 0.5}
    """
    total = np.maximum(per_frame.sum(1), 1e-12)
    peak = moving[np.arange(len(per_frame)), per_frame.argmax(1)]
    return {
        "temporal_share_moving": float(((per_frame * moving).sum(1) / total).mean()),
        "peak_frame_is_moving": float(peak.mean()),
        "temporal_share_chance": float(moving.mean()),
    }


def score_maps(maps: np.ndarray, data: VideoSet, tolerance: int = 2) -> dict[str, float]:
    """Pointing game (frames with the moving digit; on the distractor), temporal share and chance levels."""
    hits = pointing_game(maps, data.boxes, tolerance)
    distractor = pointing_game(maps, np.repeat(data.distractor_boxes[:, None], maps.shape[1], 1), 0)
    side = (data.boxes[..., 2] - data.boxes[..., 0]) + 2 * tolerance
    frame = maps.shape[-1] * maps.shape[-2]
    share = temporal_share(maps, data.moving)
    per_frame = np.abs(maps).reshape(*maps.shape[:2], -1).sum(-1)
    peak_moving = data.moving[np.arange(len(maps)), per_frame.argmax(1)]
    return {
        "pointing_moving_frames": float(hits[data.moving].mean()),
        "pointing_on_distractor": float(distractor.mean()),
        "pointing_chance": float(np.mean(np.minimum(side, maps.shape[-1]) ** 2 / frame)),
        "temporal_share_moving": float(share.mean()),
        "temporal_share_chance": float(data.moving.mean()),
        "peak_frame_is_moving": float(peak_moving.mean()),
    }


def explain_clips(models: dict[str, torch.nn.Module], data: VideoSet, batch: int = 60) -> dict[str, np.ndarray]:
    """Grad-CAM over space and time of every model for every clip of ``data``, for the true class: name ->
    (N, T, H, W)."""
    x, y = torch.from_numpy(data.videos)[:, :, None], torch.from_numpy(data.labels)
    out: dict[str, np.ndarray] = {}
    for name, model in models.items():
        fn = frame_gradcam if isinstance(model, CNNLSTM) else conv3d_gradcam
        parts = [fn(model, x[i], y[i]).numpy() for i in torch.arange(len(y)).split(batch)]  # type: ignore[arg-type]
        out[name] = np.concatenate(parts)
    return out


def load_shipped_video_models() -> dict[str, torch.nn.Module]:
    """The two shipped video models by short name (``cnn_lstm``, ``conv3d``), from the zoo."""
    from ..models.zoo import load_model

    return {"cnn_lstm": load_model("video-cnn-lstm").model, "conv3d": load_model("video-conv3d").model}
