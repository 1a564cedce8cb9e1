"""A small CAM-compatible CNN for 28x28 grey-scale medical images.

Class Activation Mapping (Zhou et al., 2016, "Learning Deep Features for Discriminative Localization")
needs the last convolutional features ``A_k`` followed by global average pooling and ONE linear layer,
so that the class score is ``y_c = sum_k w_ck * mean_ij A_k(i, j) + b_c`` and the map is
``M_c(i, j) = sum_k w_ck A_k(i, j)``. :class:`MedCNN` has exactly that head: ``features`` (three stages
of two 3x3 conv-BN-ReLU blocks, 28 -> 14 -> 7 pixels), ``pool`` (GAP), ``dropout`` and ``fc``.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

__all__ = ["MedCNN", "MedCNN3d"]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class MedCNN(nn.Module):
    """conv x6 (widths w, w, 2w, 2w, 4w, 4w; max-pool after the 2nd and 4th) -> GAP -> linear.

    Args:
        in_channels: input channels (1 for grey-scale).
        num_classes: output logits.
        width: channels of the first stage.
        dropout: dropout before the linear layer (training only).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("stage1", nn.Sequential(_block(in_channels, w), _block(w, w), nn.MaxPool2d(2))),
                    ("stage2", nn.Sequential(_block(w, 2 * w), _block(2 * w, 2 * w), nn.MaxPool2d(2))),
                    ("stage3", nn.Sequential(_block(2 * w, 4 * w), _block(4 * w, 4 * w))),
                ]
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(4 * w, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.flatten(self.pool(self.features(x)))))


def _block3d(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


class MedCNN3d(nn.Module):
    """The 3-D counterpart for volumes: conv3d x3 (one max-pool) -> GAP -> linear; CAM-compatible.

    Fully convolutional before the pooling, so it accepts volumes of any size (>= 2 voxels per axis).

    Args:
        in_channels: input channels.
        num_classes: output logits.
        width: channels of the first block.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 8) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("block1", _block3d(in_channels, w)),
                    ("pool", nn.MaxPool3d(2)),
                    ("block2", _block3d(w, 2 * w)),
                    ("block3", _block3d(2 * w, 2 * w)),
                ]
            )
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2 * w, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.pool(self.features(x))))
