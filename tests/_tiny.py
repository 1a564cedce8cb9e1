"""Tiny models with hand-set weights, shared by the tests."""

from __future__ import annotations

import torch
from torch import nn


class TinyGapNet(nn.Module):
    """x (N,1,H,W) -> 1x1 conv to 2 channels (weights 1 and -1, no bias) -> GAP -> Linear(2, 2).

    With A0 = x and A1 = -x and W = [[2, 1], [0.5, -1]], b = [0.1, -0.2]:
    y0 = 2 mean(x) - mean(x) + 0.1 = mean(x) + 0.1 and y1 = 1.5 mean(x) - 0.2.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
            self.fc.weight.copy_(torch.tensor([[2.0, 1.0], [0.5, -1.0]]))
            self.fc.bias.copy_(torch.tensor([0.1, -0.2]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.conv(x)).flatten(1))


def small_cnn(spatial_dims: int = 2, in_ch: int = 3, classes: int = 5, inplace: bool = True) -> nn.Sequential:
    """A small random CNN with a GAP + linear head for 1-D, 2-D or 3-D inputs."""
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[spatial_dims]
    bn = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[spatial_dims]
    pool = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}[spatial_dims]
    return nn.Sequential(
        conv(in_ch, 8, 3, padding=1),
        bn(8),
        nn.ReLU(inplace=inplace),
        conv(8, 16, 3, padding=1, stride=2),
        nn.ReLU(inplace=inplace),
        conv(16, 16, 3, padding=1),
        nn.ReLU(inplace=inplace),
        pool(1),
        nn.Flatten(),
        nn.Linear(16, classes),
    )


class NoGapNet(nn.Module):
    """A CNN whose head flattens a 2x2-pooled feature map into a linear layer (no global average pooling)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


class FixedSizeNet(nn.Module):
    """Accepts 8x8 inputs only (its linear layer takes the flattened map)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).flatten(1))
