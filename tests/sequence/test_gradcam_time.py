"""Grad-CAM over time for the 1-D CNN goes through the CAM engine and equals CAM for a GAP + linear head."""

from __future__ import annotations

import torch

from netloupe.sequence.explain import gradcam_over_time
from netloupe.sequence.models import SignalCNN


def test_gradcam_over_time_equals_cam_for_gap_head() -> None:
    torch.manual_seed(0)
    model = SignalCNN(1, 2, channels=(4, 6), kernels=(5, 3)).eval()
    x = torch.randn(3, 1, 32)
    maps = gradcam_over_time(model, x, [1, 0, 1])
    # Zhou et al. (2016): for GAP + linear, Grad-CAM weights are W[k, c] / L, so the map is ReLU(CAM).
    with torch.no_grad():
        feats = model.features(x)  # (N, C, L)
        w = model.fc.weight[torch.tensor([1, 0, 1])]  # (N, C)
        cam = torch.relu(torch.einsum("nc,ncl->nl", w, feats))
    expected = cam / cam.amax(1, keepdim=True).clamp_min(1e-12)  # the engine scales each map to max 1
    torch.testing.assert_close(maps, expected, atol=1e-4, rtol=1e-3)
    assert (cam.amax(1) > 0).sum() >= 2  # not a vacuous all-zero comparison
