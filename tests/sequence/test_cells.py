"""Teaching cells: the lecture's worked examples by hand, and equality with torch's fused layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netloupe.errors import InputError
from netloupe.sequence.cells import ElmanRNN, TeachingLSTM


def test_elman_worked_example_all_weights_one() -> None:
    # 2-d inputs, 2 memory cells, 2 outputs, all weights 1, no bias, linear activations, memory 0.
    # Step 1: a = 1+1 + 0+0 = 2 per cell, y = 2+2 = 4.  Step 2: a = 1+1 + 2+2 = 6, y = 12.
    # Step 3: a = 2+2 + 6+6 = 16, y = 32.
    rnn = ElmanRNN(2, 2, output_size=2, activation="linear", output_activation="linear", bias=False)
    with torch.no_grad():
        rnn.input_weight.fill_(1.0)
        rnn.memory_weight.fill_(1.0)
        rnn.output.weight.fill_(1.0)
    trace = rnn(torch.tensor([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]]))
    assert trace.hidden[0].tolist() == [[2.0, 2.0], [6.0, 6.0], [16.0, 16.0]]
    assert trace.output is not None
    assert trace.output[0].tolist() == [[4.0, 4.0], [12.0, 12.0], [32.0, 32.0]]


def test_elman_order_matters() -> None:
    # Same inputs, other order: the memory makes the outputs differ
    # ([2,2] first: a = 4, 10, 22; y = 8, 20, 44).
    rnn = ElmanRNN(2, 2, output_size=2, activation="linear", bias=False)
    with torch.no_grad():
        rnn.input_weight.fill_(1.0)
        rnn.memory_weight.fill_(1.0)
        rnn.output.weight.fill_(1.0)
    out = rnn(torch.tensor([[2.0, 2.0], [1.0, 1.0], [1.0, 1.0]])).output
    assert out is not None
    assert out[0, :, 0].tolist() == [8.0, 20.0, 44.0]


def test_lstm_lecture_example_gates_by_hand() -> None:
    # One memory cell; z = x1, z_i = 100 x2 - 10, z_f = 100 x2 + 10, z_o = 100 x3 - 10; g, h linear;
    # the hidden output is not fed back. x2 = 1 writes x1 into the cell, x2 = -1 erases it, x3 = 1 reads it.
    lstm = TeachingLSTM(3, 1, cell_activation="linear", output_activation="linear")
    with torch.no_grad():
        lstm.memory_weight.zero_()
        lstm.input_weight.copy_(torch.tensor([[1.0, 0, 0], [0, 100, 0], [0, 100, 0], [0, 0, 100]]))
        lstm.bias.copy_(torch.tensor([0.0, -10, 10, -10]))
    x = torch.tensor(
        [[1, 0, 0], [3, 1, 0], [2, 0, 0], [4, 1, 0], [2, 0, 0], [1, 0, 1], [3, -1, 0], [6, 1, 0], [1, 0, 1]],
        dtype=torch.float32,
    )
    trace = lstm(x)
    expected_h = [0, 0, 0, 0, 0, 7, 0, 0, 6]
    expected_c = [0, 3, 3, 7, 7, 7, 0, 6, 6]
    torch.testing.assert_close(
        trace.hidden[0, :, 0], torch.tensor(expected_h, dtype=torch.float32), atol=2e-3, rtol=0
    )
    torch.testing.assert_close(
        trace.cell[0, :, 0], torch.tensor(expected_c, dtype=torch.float32), atol=2e-3, rtol=0
    )
    assert trace.forget_gate[0, 6, 0] < 1e-3  # x2 = -1 closes the forget gate: memory erased
    assert trace.output_gate[0, 5, 0] > 0.999  # x3 = 1 opens the output gate


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman_equals_torch_rnn(nonlinearity: str) -> None:
    torch.manual_seed(1)
    fused = nn.RNN(5, 7, num_layers=1, batch_first=True, nonlinearity=nonlinearity, bidirectional=True)
    x = torch.randn(3, 11, 5)
    ref, _ = fused(x)
    fwd = ElmanRNN.from_torch(fused)(x).hidden
    bwd = ElmanRNN.from_torch(fused, reverse=True)(x.flip(1)).hidden.flip(1)
    assert (torch.cat([fwd, bwd], -1) - ref).abs().max().item() <= 1e-6


def test_lstm_equals_torch_lstm_two_layers() -> None:
    torch.manual_seed(2)
    fused = nn.LSTM(4, 6, num_layers=2, batch_first=True)
    x = torch.randn(2, 9, 4)
    ref, (_, c_n) = fused(x)
    first = TeachingLSTM.from_torch(fused, layer=0)(x)
    second = TeachingLSTM.from_torch(fused, layer=1)(first.hidden)
    assert (second.hidden - ref).abs().max().item() <= 1e-6
    assert (second.cell[:, -1] - c_n[1]).abs().max().item() <= 1e-6
    # gates are consistent with the equations
    torch.testing.assert_close(first.input_gate, torch.sigmoid(first.z_i))
    torch.testing.assert_close(first.hidden, torch.tanh(first.cell) * first.output_gate)


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="inputs: expected"):
        TeachingLSTM(3, 2)(torch.zeros(2, 5, 4))
    with pytest.raises(InputError, match="activation"):
        ElmanRNN(2, 2, activation="softsign")
    with pytest.raises(InputError, match=r"lstm: expected torch\.nn\.LSTM"):
        TeachingLSTM.from_torch(nn.GRU(2, 2))  # type: ignore[arg-type]


def test_starting_state_must_match_the_batch() -> None:
    """Issue 16 item 9: a (1, hidden) or (hidden,) memory used to broadcast silently over a batch of 3."""
    torch.manual_seed(0)
    cell = ElmanRNN(2, 4)
    x = torch.randn(3, 5, 2)
    for bad in (torch.zeros(1, 4), torch.zeros(4), torch.zeros(2, 4), torch.zeros(3, 5)):
        with pytest.raises(InputError, match="memory: expected shape \\(3, 4\\)"):
            cell(x, memory=bad)
    start = torch.randn(3, 4)
    trace = cell(x, memory=start)
    # value check: the first pre-activation uses each sequence's own starting memory
    expected = x[:, 0] @ cell.input_weight.T + cell.bias + start @ cell.memory_weight.T
    torch.testing.assert_close(trace.pre_activation[:, 0], expected)
    lstm = TeachingLSTM(2, 4)
    with pytest.raises(InputError, match="state\\[0\\]"):
        lstm(x, state=(torch.zeros(1, 4), torch.zeros(3, 4)))
    with pytest.raises(InputError, match="state\\[1\\]"):
        lstm(x, state=(torch.zeros(3, 4), torch.zeros(3, 1)))
