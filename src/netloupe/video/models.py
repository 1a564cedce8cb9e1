"""Two video classifiers: a per-frame CNN + LSTM (many-to-one and synced many-to-many) and a Conv3d network.

* :class:`CNNLSTM` (Donahue et al., "Long-term Recurrent Convolutional Networks for Visual Recognition and
  Description", CVPR 2015): a small CNN reads every frame, an LSTM reads the per-frame features; the last
  state gives the clip's class (many-to-one) and every state gives the frame's label (moving digit in view or not).
* :class:`Conv3DNet` (Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks", ICCV
  2015): 3x3x3 convolutions over (time, height, width), global average pooling, a linear head, so that
  Grad-CAM on its last convolution is a map over space *and* time (input (N, C, T, H, W)).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["CNNLSTM", "Conv3DNet", "build_video_model"]


class CNNLSTM(nn.Module):
    """Frame CNN (conv 16 - pool - conv 32 - pool - conv 32) -> flatten (4x4) -> LSTM -> class + per-frame heads.

    ``forward(x)`` with x (N, T, 1, S, S) returns class logits (N, K); ``forward_all`` also returns the
    per-frame logits (N, T, 2) and the last convolution's activations (N*T, 32, S/4, S/4).
    """

    def __init__(self, num_classes: int = 6, size: int = 32, hidden: int = 64) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"num_classes": num_classes, "size": size, "hidden": hidden}
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
        )
        self.squeeze = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(32 * 16, hidden), nn.ReLU())
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)
        self.frame_head = nn.Linear(hidden, 2)

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, t = x.shape[:2]
        acts = self.features(x.flatten(0, 1))
        states, _ = self.lstm(self.squeeze(acts).view(n, t, -1))
        return self.head(states[:, -1]), self.frame_head(states), acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[0]


class Conv3DNet(nn.Module):
    """conv3d 8 - pool (1,2,2) - conv3d 16 - pool (1,2,2) - conv3d 32 -> global average pool -> linear."""

    def __init__(self, num_classes: int = 6) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"num_classes": num_classes}
        self.features = nn.Sequential(
            nn.Conv3d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            nn.Conv3d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            nn.Conv3d(16, 32, 3, padding=1),
            nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def build_video_model(kind: str, **config: Any) -> nn.Module:
    """``"cnn_lstm"`` or ``"conv3d"`` with its config."""
    from ..errors import InputError

    if kind == "cnn_lstm":
        return CNNLSTM(**config)
    if kind == "conv3d":
        return Conv3DNet(**config)
    raise InputError(f"kind: expected 'cnn_lstm' or 'conv3d', got {kind!r}")
