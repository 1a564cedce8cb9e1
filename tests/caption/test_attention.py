"""Show-Attend-Tell decoder: attention by hand on a tiny decoder, step/teacher-forcing agreement, and
Grad-CAM from the cached map equal to netloupe.explain's Grad-CAM on the encoder's bn2."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from netloupe.caption.attention import AttentionCaptioner, AttentionDecoder
from netloupe.caption.explain import explain_words
from netloupe.caption.grounding import attention_maps, feature_gradcam, pointing_hit, upsample_maps
from netloupe.errors import InputError


def _tiny(vocab: int = 7, feature_dim: int = 2) -> AttentionDecoder:
    torch.manual_seed(0)
    return AttentionDecoder(vocab, feature_dim, project_dim=2, embed_dim=3, hidden=2, attention_dim=2, dropout=0.0)


def test_attention_by_hand() -> None:
    dec = _tiny()
    with torch.no_grad():  # identity projections: e_i = tanh(a_i0 + h_0) with w = (1, 0)
        dec.project.weight.copy_(torch.eye(2))
        dec.project.bias.zero_()
        dec.att_feat.weight.copy_(torch.eye(2))
        dec.att_feat.bias.zero_()
        dec.att_hidden.weight.copy_(torch.eye(2))
        dec.att_score.weight.copy_(torch.tensor([[1.0, 0.0]]))
        dec.att_score.bias.zero_()
    cells = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [2.0, -1.0]]])  # (1, L=3, D=2)
    a = dec.annotations(cells)
    h = torch.tensor([[0.5, 3.0]])
    z, alpha = dec.attend(a, dec.att_feat(a), h)
    e = [math.tanh(0.0 + 0.5), math.tanh(1.0 + 0.5), math.tanh(2.0 + 0.5)]
    expect = [math.exp(v) / sum(math.exp(u) for u in e) for v in e]
    assert alpha[0].tolist() == pytest.approx(expect, abs=1e-6)
    context = [sum(w * c[k] for w, c in zip(expect, [[0, 1], [1, 0], [2, -1]], strict=True)) for k in range(2)]
    assert z[0].tolist() == pytest.approx(context, abs=1e-6)


def test_alphas_sum_to_one_and_steps_match_teacher_forcing() -> None:
    dec = _tiny(feature_dim=5).eval()
    feats = torch.randn(2, 5, 3, 4)
    tokens = torch.tensor([[2, 4, 5, 6], [2, 6, 6, 4]])
    logp, alphas = dec.forward_attention(feats, tokens)
    assert alphas.shape == (2, 4, 12)
    assert torch.allclose(alphas.sum(-1), torch.ones(2, 4), atol=1e-6)
    state = dec.start(feats)
    for t in range(4):
        step_logp, state = dec.step(tokens[:, t], state)
        assert torch.allclose(step_logp, logp[:, t], atol=1e-5)
    maps = attention_maps(dec, feats[:1], [4, 5, 6, 3], bos=2)
    assert maps.shape == (4, 3, 4)
    assert torch.allclose(maps.reshape(4, -1), alphas[0], atol=1e-6)  # prefix <bos> 4 5 6 = tokens[0]
    with pytest.raises(InputError, match="features"):
        dec.start(torch.randn(1, 4, 3, 3))


class TinyEncoder(nn.Module):
    """A 1x1 conv + ReLU to 5 channels at full resolution, ending in a layer named bn2 (like EfficientNet)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv2d(3, 5, 1)
        self.bn2 = nn.ReLU()

    def forward_features(self, x: Tensor) -> Tensor:
        return self.bn2(self.conv(x))


def test_feature_gradcam_equals_gradcam_on_bn2() -> None:
    dec = _tiny(feature_dim=5).eval()
    enc = TinyEncoder()
    cap = AttentionCaptioner(enc, dec).eval()
    torch.manual_seed(2)
    image = torch.randn(1, 3, 6, 6)
    words = [4, 5, 6]
    ref, _ = explain_words(cap, image, words, bos=2)  # netloupe.explain, layer captioner.encoder.bn2
    mine = upsample_maps(feature_gradcam(dec, enc.forward_features(image).detach(), words, bos=2), 6)
    for t in range(3):
        r = ref[t]
        r = (r - r.min()) / (r.max() - r.min()) if r.max() > r.min() else r
        assert torch.allclose(mine[t], r, atol=1e-4), t


def test_pointing_hit_and_upsampling() -> None:
    sal = torch.zeros(10, 10)
    sal[2, 7] = 1.0  # y = 2, x = 7
    assert pointing_hit(sal, (6, 1, 9, 4), tolerance=0)
    assert not pointing_hit(sal, (0, 0, 5, 5), tolerance=0)
    assert pointing_hit(sal, (0, 0, 5, 5), tolerance=3)  # x = 7 < 5 + 3
    cells = torch.tensor([[[0.0, 0.0], [0.0, 1.0]]])
    up = upsample_maps(cells, 8)
    assert up.shape == (1, 8, 8) and float(up.max()) == 1.0 and float(up.min()) == 0.0
    assert int(up[0].argmax()) // 8 >= 4 and int(up[0].argmax()) % 8 >= 4  # peak in the bottom-right quarter
    assert float(upsample_maps(torch.zeros(1, 2, 2), 4).abs().sum()) == 0.0


def test_fit_keeps_the_epoch_with_the_lowest_dev_loss_and_never_generates_unk() -> None:
    from netloupe.caption.attention_train import decode_captions, fit_attention

    torch.manual_seed(0)
    feats = torch.randn(6, 5, 2, 2)
    caps = [["red", "circle"], ["blue", "square"], ["red", "square"]] * 2
    fit = fit_attention(
        feats, caps, feats[:2], [[c] for c in caps[:2]], epochs=3, seed=0, min_count=1, select="loss",
        decoder_kwargs={"project_dim": 4, "embed_dim": 4, "hidden": 8, "attention_dim": 4},
    )  # fmt: skip
    losses = [h["dev_loss"] for h in fit.history]
    assert fit.best_epoch == 1 + losses.index(min(losses))  # a loss is negative as a score: kept all the same
    out = decode_captions(fit.decoder, fit.vocab, feats, max_len=4, min_len=3)
    assert all(len(c) >= 3 and "<unk>" not in c for c in out)
    with pytest.raises(InputError, match="select"):
        fit_attention(feats, caps, feats[:2], [[c] for c in caps[:2]], epochs=1, select="cider")


def test_rerank_neighbours_k1_is_the_nn_baseline_and_all_k_takes_the_most_probable() -> None:
    from netloupe.caption.attention_train import nearest_and_commonest, rerank_neighbours
    from netloupe.caption.text import CaptionVocab

    torch.manual_seed(3)
    caps = [["red", "circle"], ["blue", "square", "here"], ["red", "square"], ["a", "blue", "circle"]]
    vocab = CaptionVocab.build(caps, min_count=1)
    dec = AttentionDecoder(len(vocab), 5, project_dim=4, embed_dim=4, hidden=8, attention_dim=4).eval()
    train, test = torch.randn(4, 5, 2, 2), torch.randn(3, 5, 2, 2)
    assert rerank_neighbours(dec, vocab, train, caps, test, k=1) == nearest_and_commonest(train, caps, test)[
        "nearest-neighbour caption"
    ]
    chosen = rerank_neighbours(dec, vocab, train, caps, test, k=4)
    for i in range(3):  # the mean log-probability per word (incl. <eos>) of every caption, one at a time
        scores = []
        for c in caps:
            ids = torch.tensor([vocab.encode(c)])
            with torch.no_grad():
                logp = dec(test[i : i + 1], ids[:, :-1])[0]
            scores.append(float(logp.gather(1, ids[0, 1:, None]).mean()))
        assert chosen[i] == caps[max(range(4), key=lambda j: scores[j])]
