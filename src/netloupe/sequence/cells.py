"""Recurrent cells written as in the lecture equations, with every intermediate kept.

These cells are for *inspection*: they run one time step at a time in plain tensor algebra so that
gates, cell states and hidden states can be looked at. Training uses torch's fused ``nn.RNN`` /
``nn.LSTM`` (cuDNN on GPU); :meth:`ElmanRNN.from_torch` and :meth:`TeachingLSTM.from_torch` copy
a trained fused layer's weights into a teaching cell so that its internals can be viewed.

Elman network (Elman, 1990, "Finding structure in time"): the hidden output is stored in a memory
and fed back as an extra input at the next step::

    a_t = act(W_x x_t + W_h a_{t-1} + b),      y_t = out_act(W_y a_t + b_y),      a_0 = 0.

LSTM (Hochreiter & Schmidhuber, 1997; forget gate of Gers, Schmidhuber & Cummins, 2000), with the
lecture's names: z, z_i, z_f, z_o are linear functions of [x_t, h_{t-1}], f is the logistic sigmoid::

    c_t = g(z) * f(z_i) + c_{t-1} * f(z_f),     h_t = h(c_t) * f(z_o).

With g = h = tanh this is exactly ``torch.nn.LSTM`` (whose weight rows are ordered i, f, g, o).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = ["ACTIVATIONS", "ElmanRNN", "ElmanTrace", "LSTMTrace", "TeachingLSTM"]

#: Activation functions the teaching cells accept, by name.
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "linear": lambda x: x,
}


def _activation(name: str, param: str) -> Callable[[Tensor], Tensor]:
    if name not in ACTIVATIONS:
        raise InputError(f"{param}: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def _check_sequence(x: Tensor, input_size: int) -> Tensor:
    if x.ndim == 2:
        x = x.unsqueeze(0)
    if x.ndim != 3 or x.shape[-1] != input_size:
        raise InputError(f"inputs: expected (N, T, {input_size}) or (T, {input_size}), got {tuple(x.shape)}")
    return x


def _check_state(state: Tensor, n: int, hidden_size: int, param: str) -> Tensor:
    """A starting state must be exactly (N, hidden): a (1, hidden) or (hidden,) one would silently broadcast."""
    if state.ndim != 2 or tuple(state.shape) != (n, hidden_size):
        raise InputError(
            f"{param}: expected shape ({n}, {hidden_size}) (one row per input sequence), got {tuple(state.shape)}"
        )
    return state


@dataclass
class ElmanTrace:
    """Everything an :class:`ElmanRNN` computed, each ``(N, T, ...)``."""

    pre_activation: Tensor  # W_x x_t + W_h a_{t-1} + b
    hidden: Tensor  # a_t, the value written to memory
    output: Tensor | None  # y_t (None when the network has no output layer)


@dataclass
class LSTMTrace:
    """Everything a :class:`TeachingLSTM` computed, each ``(N, T, H)``."""

    z: Tensor  # cell input, before g
    z_i: Tensor  # input-gate pre-activation
    z_f: Tensor  # forget-gate pre-activation
    z_o: Tensor  # output-gate pre-activation
    input_gate: Tensor  # f(z_i)
    forget_gate: Tensor  # f(z_f)
    output_gate: Tensor  # f(z_o)
    cell: Tensor  # c_t
    hidden: Tensor  # h_t

    def gates(self) -> dict[str, Tensor]:
        """The three gate activations and the cell/hidden states by name (for heatmaps)."""
        return {
            "input gate f(z_i)": self.input_gate,
            "forget gate f(z_f)": self.forget_gate,
            "output gate f(z_o)": self.output_gate,
            "cell c": self.cell,
            "hidden h": self.hidden,
        }


class ElmanRNN(nn.Module):
    """Elman (1990) simple recurrent network, one step at a time, with an optional output layer.

    ``a_t = act(W_x x_t + W_h a_{t-1} + b)``, ``y_t = out_act(W_y a_t + b_y)``; memory starts at 0.

    Args:
        input_size: features per time step.
        hidden_size: memory cells.
        output_size: size of the output layer ``y_t``; None for no output layer.
        activation: ``act`` ("tanh" as in ``torch.nn.RNN``, "relu", "sigmoid" or "linear").
        output_activation: ``out_act``.
        bias: whether the layers have biases.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int | None = None,
        activation: str = "tanh",
        output_activation: str = "linear",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.act = _activation(activation, "activation")
        self.out_act = _activation(output_activation, "output_activation")
        self.input_weight = nn.Parameter(torch.empty(hidden_size, input_size))  # W_x
        self.memory_weight = nn.Parameter(torch.empty(hidden_size, hidden_size))  # W_h
        self.bias = nn.Parameter(torch.zeros(hidden_size)) if bias else None
        self.output = nn.Linear(hidden_size, output_size, bias=bias) if output_size else None
        bound = hidden_size**-0.5
        nn.init.uniform_(self.input_weight, -bound, bound)
        nn.init.uniform_(self.memory_weight, -bound, bound)

    def forward(self, inputs: Tensor, memory: Tensor | None = None) -> ElmanTrace:
        """Run over ``inputs`` (N, T, input_size); ``memory`` (N, hidden) defaults to zeros."""
        x = _check_sequence(inputs, self.input_size)
        n, steps, _ = x.shape
        a = x.new_zeros(n, self.hidden_size) if memory is None else _check_state(memory, n, self.hidden_size, "memory")
        projected = x @ self.input_weight.T  # all W_x x_t at once
        if self.bias is not None:
            projected = projected + self.bias
        pre, hidden = [], []
        for t in range(steps):  # the recurrence itself is sequential
            s = projected[:, t] + a @ self.memory_weight.T
            a = self.act(s)
            pre.append(s)
            hidden.append(a)
        h = torch.stack(hidden, 1)
        y = self.out_act(self.output(h)) if self.output is not None else None
        return ElmanTrace(pre_activation=torch.stack(pre, 1), hidden=h, output=y)

    @classmethod
    def from_torch(cls, rnn: nn.RNN, layer: int = 0, reverse: bool = False) -> ElmanRNN:
        """An Elman cell holding the weights of one layer/direction of a fused ``torch.nn.RNN``."""
        if not isinstance(rnn, nn.RNN):
            raise InputError(f"rnn: expected torch.nn.RNN, got {type(rnn).__name__}")
        sfx = f"_l{layer}" + ("_reverse" if reverse else "")
        act = "tanh" if rnn.nonlinearity == "tanh" else "relu"
        w_ih = getattr(rnn, "weight_ih" + sfx)
        cell = cls(w_ih.shape[1], rnn.hidden_size, activation=act, bias=rnn.bias)
        with torch.no_grad():
            cell.input_weight.copy_(w_ih)
            cell.memory_weight.copy_(getattr(rnn, "weight_hh" + sfx))
            if cell.bias is not None:
                cell.bias.copy_(getattr(rnn, "bias_ih" + sfx) + getattr(rnn, "bias_hh" + sfx))
        return cell.to(w_ih.device)


class TeachingLSTM(nn.Module):
    """An LSTM layer written from the gate equations (Hochreiter & Schmidhuber, 1997; Gers et al., 2000).

    ``z = W [x_t, h_{t-1}] + b`` (and likewise z_i, z_f, z_o); ``c_t = g(z) f(z_i) + c_{t-1} f(z_f)``;
    ``h_t = h(c_t) f(z_o)`` with f the logistic sigmoid. Gates and states are returned per step.

    Args:
        input_size: features per time step.
        hidden_size: memory cells.
        cell_activation: g ("tanh" as in ``torch.nn.LSTM``; "linear" in the lecture's worked example).
        output_activation: h (same choices).
        gate_activation: f (the sigmoid; any name of :data:`ACTIVATIONS`).
        bias: whether the gates have biases.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        cell_activation: str = "tanh",
        output_activation: str = "tanh",
        gate_activation: str = "sigmoid",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.g = _activation(cell_activation, "cell_activation")
        self.h = _activation(output_activation, "output_activation")
        self.f = _activation(gate_activation, "gate_activation")
        # Rows in the order z, z_i, z_f, z_o, each hidden_size long.
        self.input_weight = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.memory_weight = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.zeros(4 * hidden_size)) if bias else None
        bound = hidden_size**-0.5
        nn.init.uniform_(self.input_weight, -bound, bound)
        nn.init.uniform_(self.memory_weight, -bound, bound)

    def forward(self, inputs: Tensor, state: tuple[Tensor, Tensor] | None = None) -> LSTMTrace:
        """Run over ``inputs`` (N, T, input_size); ``state`` = (h_0, c_0), zeros by default."""
        x = _check_sequence(inputs, self.input_size)
        n, steps, _ = x.shape
        hsz = self.hidden_size
        if state is None:
            h, c = x.new_zeros(n, hsz), x.new_zeros(n, hsz)
        else:
            h, c = _check_state(state[0], n, hsz, "state[0] (h_0)"), _check_state(state[1], n, hsz, "state[1] (c_0)")
        projected = x @ self.input_weight.T
        if self.bias is not None:
            projected = projected + self.bias
        keys = ("z", "z_i", "z_f", "z_o", "input_gate", "forget_gate", "output_gate", "cell", "hidden")
        out: dict[str, list[Tensor]] = {k: [] for k in keys}
        for t in range(steps):
            pre = projected[:, t] + h @ self.memory_weight.T
            z, z_i, z_f, z_o = pre.split(hsz, dim=1)
            gi, gf, go = self.f(z_i), self.f(z_f), self.f(z_o)
            c = self.g(z) * gi + c * gf
            h = self.h(c) * go
            for k, v in zip(keys, (z, z_i, z_f, z_o, gi, gf, go, c, h), strict=True):
                out[k].append(v)
        return LSTMTrace(**{k: torch.stack(v, 1) for k, v in out.items()})

    @classmethod
    def from_torch(cls, lstm: nn.LSTM, layer: int = 0, reverse: bool = False) -> TeachingLSTM:
        """A teaching LSTM holding the weights of one layer/direction of a fused ``torch.nn.LSTM``.

        torch orders its gate rows (i, f, g, o); the teaching cell (z, z_i, z_f, z_o) = (g, i, f, o).
        For ``reverse=True`` feed the teaching cell the time-reversed sequence.
        """
        if not isinstance(lstm, nn.LSTM):
            raise InputError(f"lstm: expected torch.nn.LSTM, got {type(lstm).__name__}")
        if getattr(lstm, "proj_size", 0):
            raise InputError("lstm: LSTMs with proj_size > 0 are not supported by the teaching cell")
        sfx = f"_l{layer}" + ("_reverse" if reverse else "")
        w_ih = getattr(lstm, "weight_ih" + sfx)
        cell = cls(w_ih.shape[1], lstm.hidden_size, bias=lstm.bias)

        def reorder(w: Tensor) -> Tensor:
            i, f, g, o = w.chunk(4, dim=0)
            return torch.cat([g, i, f, o], dim=0)

        with torch.no_grad():
            cell.input_weight.copy_(reorder(w_ih))
            cell.memory_weight.copy_(reorder(getattr(lstm, "weight_hh" + sfx)))
            if cell.bias is not None:
                cell.bias.copy_(reorder(getattr(lstm, "bias_ih" + sfx) + getattr(lstm, "bias_hh" + sfx)))
        return cell.to(w_ih.device)
