"""Gradient x input, Integrated Gradients and occlusion on sequences: values, completeness, padding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netloupe.attribution import gradient_x_input, integrated_gradients, occlusion
from netloupe.errors import InputError, TargetError
from netloupe.sequence.models import FeatureLSTM, SlotTagger, TokenClassifier, lengths_to_mask
from netloupe.sequence.targets import IntentTarget, SlotTarget
from netloupe.targets import ClassTarget


class Linear(nn.Module):
    """S_c(x) = sum_{t,d} W[c,t,d] x[t,d]: every method has a closed form."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 4, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ntd,ctd->nc", x, self.w)


def test_linear_model_closed_forms() -> None:
    model = Linear()
    x = torch.randn(2, 4, 2)
    expected = x.unsqueeze(1) * model.w[[2]].unsqueeze(0)  # target class 2: W_2 * x
    gxi = gradient_x_input(model, x, 2)
    torch.testing.assert_close(gxi.values, expected)
    ig = integrated_gradients(model, x, 2, steps=4)
    torch.testing.assert_close(ig.values, expected)
    occ = occlusion(model, x, 2, window=1)
    # zero baseline: the drop of step t is sum_d W[2,t,d] x[t,d], spread over its 2 features
    torch.testing.assert_close(occ.per_step(), expected.sum(-1))
    torch.testing.assert_close(gxi.per_step(), expected.sum(-1))
    assert gxi.class_ids is not None
    assert gxi.class_ids.tolist() == [[2], [2]]


def test_ig_completeness_on_lstm() -> None:
    torch.manual_seed(3)
    model = FeatureLSTM(3, 4, hidden=8, channels_first=False, pool="last").eval()
    x = torch.randn(5, 12, 3)
    ig = integrated_gradients(model, x, ClassTarget(1), steps=64)
    with torch.no_grad():
        expected = model(x)[:, 1] - model(torch.zeros_like(x))[:, 1]
    total = ig.values.sum(dim=(2, 3))[:, 0]
    torch.testing.assert_close(total, expected, atol=1e-4, rtol=1e-4)
    assert ig.extras["delta"].abs().max() < 1e-4
    assert expected.abs().min() > 1e-3  # the check is not vacuous


def test_ig_matches_captum() -> None:
    captum = pytest.importorskip("captum.attr")
    torch.manual_seed(4)
    model = FeatureLSTM(2, 3, hidden=5, channels_first=False).eval()
    x = torch.randn(3, 6, 2)
    ours = integrated_gradients(model, x, 0, steps=50).values[:, 0]
    ref = captum.IntegratedGradients(model).attribute(x, target=0, n_steps=50, method="gausslegendre")
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-4)


def _token_batch() -> tuple[TokenClassifier, torch.Tensor, torch.Tensor]:
    torch.manual_seed(5)
    model = TokenClassifier(20, 2, embed_dim=6, hidden=5, dropout=0.0).eval()
    tokens = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 0, 0, 0], [10, 0, 0, 0, 0]])
    return model, tokens, torch.tensor([5, 2, 1])


@pytest.mark.parametrize("method", ["gxi", "ig", "occ"])
def test_padding_gets_zero_and_batch_equals_single(method: str) -> None:
    model, tokens, lengths = _token_batch()

    def attribute(tok: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        emb = model.embed(tok).detach()
        fwd, args = model.forward_embedded, (lens,)
        mask = lengths_to_mask(lens, tok.shape[1])
        if method == "gxi":
            a = gradient_x_input(fwd, emb, 1, mask=mask, additional_args=args)
        elif method == "ig":
            a = integrated_gradients(fwd, emb, 1, mask=mask, steps=16, additional_args=args)
        else:
            a = occlusion(fwd, emb, 1, mask=mask, additional_args=args)
        return a.per_step()[:, 0]

    batch = attribute(tokens, lengths)
    assert (batch[~lengths_to_mask(lengths, 5)] == 0).all()
    assert (batch[lengths_to_mask(lengths, 5)] != 0).all()
    for i in range(3):
        n = int(lengths[i])
        single = attribute(tokens[i : i + 1, :n], lengths[i : i + 1])
        torch.testing.assert_close(batch[i, :n], single[0], atol=1e-5, rtol=1e-4)


def test_tagger_targets_slot_and_intent() -> None:
    torch.manual_seed(6)
    model = SlotTagger(15, num_slots=4, num_intents=3, embed_dim=5, hidden=6, dropout=0.0).eval()
    tokens = torch.tensor([[2, 3, 4, 5]])
    emb = model.embed(tokens).detach()
    fwd, lens = model.forward_embedded, torch.tensor([4])
    ig = integrated_gradients(
        fwd, emb, [SlotTarget(2, 1), IntentTarget(0)], steps=64, additional_args=(lens,)
    )
    with torch.no_grad():
        out, base = fwd(emb, lens), fwd(torch.zeros_like(emb), lens)
    torch.testing.assert_close(ig.scores[0], torch.stack([out.slots[0, 2, 1], out.intent[0, 0]]))
    expected = torch.stack([out.slots[0, 2, 1] - base.slots[0, 2, 1], out.intent[0, 0] - base.intent[0, 0]])
    total = ig.values.sum(dim=(2, 3))[0]
    # the slot logit is smooth in the embeddings: completeness to quadrature precision
    torch.testing.assert_close(total[0], expected[0], atol=1e-4, rtol=1e-4)
    # the intent head max-pools over time (kinks along the path): looser, and reported in delta
    torch.testing.assert_close(total[1], expected[1], atol=5e-3, rtol=0)
    torch.testing.assert_close(ig.extras["delta"][0], total - expected, atol=1e-6, rtol=0)
    with pytest.raises(TargetError, match="callable targets"):
        gradient_x_input(fwd, emb, 1, additional_args=(lens,))


def test_signal_layout_time_last() -> None:
    model = FeatureLSTM(1, 2, hidden=4).eval()  # (N, 1, L) signals
    x = torch.randn(2, 1, 10)
    a = occlusion(model, x, 0, window=2, time_dim=-1)
    assert a.per_step(time_dim=-1).shape == (2, 1, 10)
    # non-overlapping windows: each window's attribution sums to its score drop
    with torch.no_grad():
        occluded = x.clone()
        occluded[..., 4:6] = 0
        drop = model(x)[:, 0] - model(occluded)[:, 0]
    torch.testing.assert_close(a.per_step(-1)[:, 0, 4:6].sum(-1), drop)


def test_bad_inputs() -> None:
    model = Linear()
    with pytest.raises(InputError, match="floating-point"):
        gradient_x_input(model, torch.ones(2, 4, 2, dtype=torch.long))
    with pytest.raises(InputError, match="mask"):
        gradient_x_input(model, torch.randn(2, 4, 2), mask=torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(InputError, match="window"):
        occlusion(model, torch.randn(2, 4, 2), window=9)
    with pytest.raises(TargetError):
        gradient_x_input(model, torch.randn(2, 4, 2), 7)


def test_model_left_as_found() -> None:
    model = FeatureLSTM(1, 2, hidden=4, dropout=0.2).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    integrated_gradients(model.eval(), torch.randn(2, 1, 6), 0, steps=4)
    model.train()
    gradient_x_input(model, torch.randn(2, 1, 6), 0)
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
