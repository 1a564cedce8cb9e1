"""Every helper that switches a model to eval mode restores each module's own flag (one ``eval_mode``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from tests._tiny import small_cnn
from torch import nn

from netloupe._state import eval_mode
from netloupe.evaluation.baselines import gradient_maps
from netloupe.evaluation.faithfulness import average_drop_increase, deletion_curve
from netloupe.internals._hooks import run_and_capture
from netloupe.medical.audit import run_audit


def _mixed() -> nn.Sequential:
    model = small_cnn(2)
    model.train()
    model[1].eval()  # a frozen BatchNorm inside a model that trains
    return model


X = torch.randn(2, 3, 10, 10)
T = torch.tensor([1, 3])
MAPS = torch.rand(2, 10, 10)

CALLS: dict[str, Callable[[nn.Module], object]] = {
    "internals.run_and_capture": lambda m: run_and_capture(m, "3", X),
    "baselines.gradient_maps": lambda m: gradient_maps(m, X, T),
    "faithfulness.deletion_curve": lambda m: deletion_curve(m, X, MAPS, T, steps=2),
    "faithfulness.average_drop_increase": lambda m: average_drop_increase(m, X, MAPS, T),
    "audit.run_audit": lambda m: run_audit(m, X, T, torch.ones(10, 10), [str(i) for i in range(5)], layer="5"),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_mixed_train_eval_state_survives(name: str) -> None:
    model = _mixed()
    seen: list[bool] = []
    model[1].register_forward_pre_hook(lambda m, _i: seen.append(m.training))
    model[3].register_forward_pre_hook(lambda m, _i: seen.append(m.training))
    CALLS[name](model)
    assert seen and not any(seen)  # every module ran in eval mode
    assert model.training and not model[1].training and model[3].training


def test_eval_mode_is_the_state_module() -> None:
    import netloupe.internals._hooks as hooks

    assert not hasattr(hooks, "eval_mode") or hooks.eval_mode is eval_mode
