"""CAMs whose channel weights come from extra no-grad forward passes (batched, on the device)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import MethodNotApplicable
from .base import CAMContext, WeightedCAM, spatial_dims

__all__ = ["AblationCAM", "ScoreCAM", "upsample"]

_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def upsample(maps: Tensor, size: tuple[int, ...]) -> Tensor:
    """Resize ``(N, K, *S)`` maps to ``size`` with (bi/tri)linear interpolation, align_corners=False."""
    if tuple(maps.shape[2:]) == tuple(size):
        return maps
    mode = _MODES.get(len(size))
    if mode is None:
        raise ValueError(f"upsample: 1-3 spatial dimensions are supported, got {len(size)}")
    return F.interpolate(maps, size=size, mode=mode, align_corners=False)


class ScoreCAM(WeightedCAM):
    """Score-CAM (Wang et al. 2020): channels weighted by the score of the input masked by them.

    ``H_c = norm(up(A_c))`` (min-max to [0, 1]), ``s_c = y_k(X * H_c)`` and ``w = softmax_c(s)``.
    The baseline score of the paper's "increase of confidence" is a constant per target and cancels in
    the softmax. All (sample, channel) masks run as no-grad batches sized for the device; channels whose map is
    constant give an all-zero mask, so they share ONE pass on a blank input instead of one pass each.

    Args:
        batch_size: masked inputs per forward pass (default: the engine's ``batch_size``).
        softmax_scores: use class probabilities instead of raw scores (the default, raw, matches
            the paper's pre-softmax ``Y^c``).
        precision: ``"auto"`` runs the masked passes under bf16 autocast on CUDA (fp16 where bf16 is
            unsupported) and in float32 on the CPU; ``"bf16"``/``"fp16"``/``"fp32"`` force one. The
            weights are a softmax over scores, so reduced precision barely moves the map (the benchmark
            reports its correlation with the float32 map).
    """

    name = "scorecam"
    paper = "Wang et al., Score-CAM, CVPR Workshops 2020"
    needs_gradients = False

    def __init__(self, batch_size: int | None = None, softmax_scores: bool = False, precision: str = "auto") -> None:
        if precision not in ("auto", "bf16", "fp16", "fp32"):
            raise ValueError(f"precision: expected auto, bf16, fp16 or fp32, got {precision!r}")
        self.batch_size = batch_size
        self.softmax_scores = softmax_scores
        self.precision = precision

    def _autocast(self, device: torch.device) -> torch.autocast:
        choice = self.precision
        if choice == "auto":
            if device.type == "cuda":
                choice = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            else:
                choice = "fp32"
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[choice]
        return torch.autocast(device_type=device.type, dtype=dtype, enabled=choice != "fp32")

    @staticmethod
    def _live(acts: Tensor) -> Tensor:
        flat = acts.reshape(*acts.shape[:2], -1)
        return flat.amax(-1) > flat.amin(-1)  # (N, C): non-constant maps

    def extra_passes(self, ctx: CAMContext) -> int:
        step = self.batch_size or ctx.batch_size
        return 1 + -(-int(self._live(ctx.activations).sum()) // step)  # the blank pass + the masked batches

    def channel_weights(self, ctx: CAMContext) -> Tensor:
        acts, x = ctx.activations, ctx.inputs
        n, c = acts.shape[:2]
        k = ctx.targets.k
        size = tuple(x.shape[2:])
        live = self._live(acts)
        scores = torch.empty(n, k, c, device=acts.device, dtype=torch.float32)
        rows_all = torch.arange(n, device=acts.device)
        # One pass on a blank input serves every constant channel of every sample.
        blank = ctx.forward(torch.zeros_like(x[:1])).expand(n, -1)
        ctx.passes.step()
        for t in range(k):
            blank_scores = ctx.targets.expanded_scores(blank, rows_all, t, self.softmax_scores).float()
            scores[:, t, :] = blank_scores[:, None]
        pairs = live.nonzero()  # (P, 2) = (sample, channel)
        step = self.batch_size or ctx.batch_size
        channels_last = x.ndim == 4
        for start in range(0, pairs.shape[0], step):
            sample, channel = pairs[start : start + step].unbind(1)
            masks = upsample(acts[sample, channel].unsqueeze(1), size)  # (B, 1, *S_in)
            lo = masks.amin(dim=spatial_dims(masks, 1), keepdim=True)
            hi = masks.amax(dim=spatial_dims(masks, 1), keepdim=True)
            masked = x[sample] * ((masks - lo) / (hi - lo))
            if channels_last:  # NHWC convolutions are faster on both oneDNN and cuDNN
                masked = masked.contiguous(memory_format=torch.channels_last)
            with self._autocast(x.device):
                out = ctx.forward(masked).float()
            for t in range(k):
                scores[sample, t, channel] = ctx.targets.expanded_scores(out, sample, t, self.softmax_scores).float()
            ctx.passes.step()
        return torch.softmax(scores, dim=-1)


class AblationCAM(WeightedCAM):
    """Ablation-CAM (Desai & Ramaswamy 2020): ``w_c = (y - y_c) / y``, ``y_c`` the score with channel c zeroed.

    Every (sample, channel) ablation runs in no-grad batches (sized for the device) with the layer's output replaced.
    Channels that are already all zero cannot change the output and get weight 0 without a pass.
    """

    name = "ablationcam"
    paper = "Desai & Ramaswamy, Ablation-CAM, WACV 2020"
    needs_gradients = False

    def __init__(self, batch_size: int | None = None) -> None:
        self.batch_size = batch_size

    def extra_passes(self, ctx: CAMContext) -> int:
        step = self.batch_size or ctx.batch_size
        active = int((ctx.activations.reshape(*ctx.activations.shape[:2], -1).abs().amax(-1) > 0).sum())
        return -(-active // step)

    def channel_weights(self, ctx: CAMContext) -> Tensor:
        acts = ctx.activations
        if acts.shape != ctx.layer.raw_shape:
            raise MethodNotApplicable("method 'ablationcam': not supported with a reshape transform; use 'scorecam'")
        n, c = acts.shape[:2]
        k = ctx.targets.k
        base = ctx.capture.scores.float()  # (N, K)
        ablated = base[:, :, None].expand(n, k, c).clone()
        active = acts.reshape(n, c, -1).abs().amax(-1) > 0
        pairs = active.nonzero()
        step = self.batch_size or ctx.batch_size
        for start in range(0, pairs.shape[0], step):
            sample, channel = pairs[start : start + step].unbind(1)
            replacement = acts[sample].clone()
            replacement[torch.arange(sample.shape[0], device=acts.device), channel] = 0
            out = ctx.forward_replaced(sample, replacement)
            for t in range(k):
                ablated[sample, t, channel] = ctx.targets.expanded_scores(out, sample, t, False).float()
            ctx.passes.step()
        denom = torch.where(base.abs() > 1e-7, base, torch.full_like(base, 1e-7))
        return (base[:, :, None] - ablated) / denom[:, :, None]
