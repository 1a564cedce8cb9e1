"""LSTM-FCN (Karim et al., 2018) for ECG200: its forward recomputed by hand from its parts, and rebuild."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netloupe.errors import InputError
from netloupe.sequence.checkpoint import SequenceBundle, load_bundle, save_bundle
from netloupe.sequence.models import LSTMFCN, build_model


def _lstm_last_state(rnn: nn.LSTM, steps: torch.Tensor) -> torch.Tensor:
    """h_T of a one-layer LSTM by the textbook gate equations (PyTorch's gate order i, f, g, o)."""
    h = torch.zeros(steps.shape[0], rnn.hidden_size)
    c = torch.zeros_like(h)
    for t in range(steps.shape[1]):
        z = steps[:, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
        i, f, g, o = z.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    return h


def test_forward_is_lstm_state_and_pooled_conv_through_one_linear_layer() -> None:
    torch.manual_seed(0)
    model = LSTMFCN(1, 2, hidden=3, patch=4, channels=(4, 5), kernels=(3, 3)).eval()
    x = torch.randn(2, 1, 12)
    # the LSTM reads 3 steps of 4 consecutive samples
    steps = model.steps(x)
    assert steps.shape == (2, 3, 4)
    assert torch.equal(steps[1, 2], x[1, 0, 8:12])
    h = _lstm_last_state(model.rnn, steps)
    conv = x
    for layer in model.features:
        conv = layer(conv)
    pooled = conv.mean(-1)
    expected = torch.cat([h, pooled], 1) @ model.fc.weight.T + model.fc.bias
    with torch.no_grad():
        assert torch.allclose(model(x), expected, atol=1e-5)
    # "same" padding keeps the length, so Grad-CAM over time is per input sample
    assert model.features(x).shape[-1] == 12


def test_rebuild_from_config_and_bad_inputs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(1)
    model = LSTMFCN(1, 2, hidden=4, patch=8).eval()
    again = build_model(model.config)
    again.load_state_dict(model.state_dict())
    x = torch.randn(3, 1, 96)
    with torch.no_grad():
        assert torch.allclose(again.eval()(x), model(x))
    path = save_bundle(
        SequenceBundle("ecg200-lstm", model, ["normal", "mi"], meta={"kind": "signal"}), tmp_path / "m.pt"
    )
    with torch.no_grad():
        assert torch.allclose(load_bundle(path).model(x), model(x), atol=1e-6)
    with pytest.raises(InputError, match="multiple of patch"):
        model(torch.randn(1, 1, 90))
    with pytest.raises(InputError, match="inputs"):
        model(torch.randn(1, 2, 96))
