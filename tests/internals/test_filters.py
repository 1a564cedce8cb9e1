from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netloupe.errors import InputError
from netloupe.internals.filters import first_conv_layer, kernel_tiles, layer_kernel_tiles
from netloupe.viz.grids import tile_grid


def _rgb_conv() -> nn.Conv2d:
    conv = nn.Conv2d(3, 2, 2, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = 1.0  # filter 0: +1 on red
        conv.weight[1, 1] = -0.5  # filter 1: -0.5 on green
    return conv


def test_rgb_tiles_shared_scaling_values_in_grid() -> None:
    kt = kernel_tiles(_rgb_conv().weight, mode="auto", scale="shared")
    assert kt.mode == "rgb"
    assert kt.value_range == (-1.0, 1.0)
    grid = tile_grid(kt.tiles, pad=1, pad_value=1.0)
    # two 2x2 tiles on one row: (1 + 1 * 3, 1 + 2 * 3)
    assert grid.shape == (4, 7, 3)
    np.testing.assert_allclose(grid[1:3, 1:3], np.broadcast_to([1.0, 0.5, 0.5], (2, 2, 3)))  # 0.5 + 0.5 * 1
    np.testing.assert_allclose(grid[1:3, 4:6], np.broadcast_to([0.5, 0.25, 0.5], (2, 2, 3)))  # 0.5 - 0.25
    assert (grid[0] == 1.0).all()
    assert (grid[:, 3] == 1.0).all()


def test_per_filter_scaling_stretches_each_tile() -> None:
    kt = kernel_tiles(_rgb_conv().weight, mode="rgb", scale="per-filter")
    tiles = kt.tiles[0].numpy()  # (F, h, w, 3)
    np.testing.assert_allclose(tiles[0, 0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(tiles[1, 0, 0], [1.0, 0.0, 1.0])  # min -0.5 -> 0, max 0 -> 1
    assert kt.value_range is None


def test_channels_mean_norm_modes() -> None:
    w = torch.tensor([[[[3.0]], [[4.0]]], [[[-1.0]], [[1.0]]]])  # (2 filters, 2 channels, 1, 1)
    ch = kernel_tiles(w, mode="channels")
    assert ch.tiles.shape == (2, 2, 1, 1, 1)
    np.testing.assert_allclose(ch.tiles[..., 0, 0, 0].numpy(), [[0.5 + 0.5 * 3 / 4, 1.0], [0.375, 0.625]])
    mean = kernel_tiles(w, mode="mean")
    np.testing.assert_allclose(mean.tiles.flatten().numpy(), [0.5 + 0.5 * 3.5 / 3.5, 0.5])
    norm = kernel_tiles(w, mode="norm")
    np.testing.assert_allclose(norm.tiles.flatten().numpy(), [1.0, np.sqrt(2) / 5], rtol=1e-6)


def test_1d_kernels_are_strips_and_3d_use_central_slice() -> None:
    w1 = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)  # (F, C_in, k)
    kt = kernel_tiles(w1, scale="per-filter")
    assert kt.mode == "channels"
    assert kt.tiles.shape == (2, 1, 3, 4, 1)
    np.testing.assert_allclose(kt.tiles[0, 0, :, :, 0].flatten().numpy(), np.arange(12) / 11)
    w3 = torch.zeros(1, 1, 3, 2, 2)
    w3[0, 0, 1] = torch.tensor([[1.0, -1.0], [0.0, 0.5]])
    w3[0, 0, 0] = 9.0  # not the central slice
    kt3 = kernel_tiles(w3)
    np.testing.assert_allclose(kt3.tiles[0, 0, :, :, 0].numpy(), [[1.0, 0.0], [0.5, 0.75]])


def test_layer_lookup_and_errors() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3))
    assert first_conv_layer(model) == "1"
    name, kt = layer_kernel_tiles(model)
    assert name == "1"
    assert kt.mode == "channels"
    with pytest.raises(InputError, match="not a Conv1d/Conv2d/Conv3d"):
        layer_kernel_tiles(model, "0")
    with pytest.raises(InputError, match="'rgb' needs kernels with 3 input channels"):
        kernel_tiles(model[2].weight, mode="rgb")
    with pytest.raises(InputError, match="scale: expected one of"):
        kernel_tiles(model[2].weight, scale="global")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no Conv1d"):
        first_conv_layer(nn.Sequential(nn.Linear(2, 2)))
