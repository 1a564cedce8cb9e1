from __future__ import annotations

import pytest
import torch
from torch import nn

from netloupe.errors import InputError, LayerNotFound
from netloupe.internals.activations import layer_activations, strongest_channels


def _model() -> nn.Sequential:
    conv = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[2.0]]], [[[-1.0]]]]))
        conv.bias.copy_(torch.tensor([0.0, 1.0]))
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))


def test_feature_maps_have_known_values_and_hooks_are_removed() -> None:
    model = _model().train()
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    acts = layer_activations(model, x, "1")
    torch.testing.assert_close(acts[0, 0], torch.tensor([[0.0, 2.0], [4.0, 6.0]]))
    torch.testing.assert_close(acts[0, 1], torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    assert model.training  # mode restored
    assert all(not m._forward_hooks for m in model.modules())
    assert strongest_channels(acts, 1).tolist() == [0]


def test_layer_without_spatial_output_is_a_clear_error() -> None:
    with pytest.raises(
        InputError,
        match=r"'4' outputs shape \(1, 3\).*no spatial extent.*last layer with spatial output is '1'",
    ):
        layer_activations(_model(), torch.rand(1, 1, 4, 4), "4")
    with pytest.raises(LayerNotFound, match="closest"):
        layer_activations(_model(), torch.rand(1, 1, 4, 4), "11")
