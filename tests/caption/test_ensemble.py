"""Seed ensembles of attention decoders: the mean of the members' log-probabilities, by hand and by decoding;
the refit without a dev split; the ensemble checkpoint; the choice of size and decoding on dev."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from netloupe.caption.attention import AttentionDecoder
from netloupe.caption.attention_train import decode_captions, fit_attention
from netloupe.caption.bleu import corpus_bleu
from netloupe.caption.cider import cider_d
from netloupe.caption.decode import beam_search, greedy_decode
from netloupe.caption.ensemble import EnsembleDecoder
from netloupe.caption.text import CaptionVocab
from netloupe.errors import InputError

BOS, EOS, A, B, C = 0, 1, 2, 3, 4


class TableDecoder(nn.Module):
    """A first-order chain: p(next | last word) read from a fixed table; the state is the step count."""

    def __init__(self, table: list[list[float]]) -> None:
        super().__init__()
        self.table = torch.tensor(table)
        self.config: dict[str, Any] = {"vocab_size": self.table.shape[1], "feature_dim": 1}

    def start(self, features: Tensor) -> tuple[Tensor, ...]:
        return (torch.zeros(features.shape[0]),)

    def step(self, tokens: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        return self.table[tokens].clamp_min(1e-12).log(), (state[0] + 1,)


# member 1 after <bos>: a 0.5, b 0.3, c 0.2; member 2: a 0.1, b 0.5, c 0.4.
# Mean log-probability: a (log .5 + log .1) / 2 = log sqrt(.05) = log .2236, b log sqrt(.15) = log .3873,
# c log sqrt(.08) = log .2828 -> the ensemble says b, although member 1 alone says a.
T1 = [[0, 0, 0.5, 0.3, 0.2], [0, 1, 0, 0, 0], [0, 0.9, 0.05, 0.05, 0], [0, 0.8, 0.1, 0.1, 0], [0, 0.5, 0.5, 0, 0]]
T2 = [[0, 0, 0.1, 0.5, 0.4], [0, 1, 0, 0, 0], [0, 0.9, 0.05, 0.05, 0], [0, 0.2, 0.2, 0.6, 0], [0, 0.5, 0.5, 0, 0]]


def test_ensemble_step_is_the_mean_of_the_members_log_probs_by_hand() -> None:
    ens = EnsembleDecoder([TableDecoder(T1), TableDecoder(T2)])  # type: ignore[list-item]
    state = ens.start(torch.zeros(1, 1))
    assert len(state) == 2  # one tensor per member, concatenated
    logp, state = ens.step(torch.tensor([BOS]), state)
    assert logp[0, A].item() == pytest.approx(math.log(math.sqrt(0.05)), abs=1e-6)
    assert logp[0, B].item() == pytest.approx(math.log(math.sqrt(0.15)), abs=1e-6)
    assert logp[0, C].item() == pytest.approx(math.log(math.sqrt(0.08)), abs=1e-6)
    assert [s.item() for s in state] == [1.0, 1.0]  # every member advanced its own state
    # greedy: member 1 alone says "a <eos>"; the ensemble says b, then after b: <eos> sqrt(.8*.2)=.4 vs
    # b sqrt(.1*.6)=.245 -> "b <eos>", summed log-prob log(.3873) + log(.4)
    one = greedy_decode(TableDecoder(T1).step, (torch.zeros(1),), BOS, EOS, max_len=5)[0]
    assert one.tokens == [A]
    both = greedy_decode(ens.step, ens.start(torch.zeros(1, 1)), BOS, EOS, max_len=5)[0]
    assert both.tokens == [B]
    assert both.log_prob == pytest.approx(math.log(math.sqrt(0.15)) + math.log(math.sqrt(0.16)), abs=1e-5)
    # beam search finds the globally better "a <eos>": sqrt(.05) * sqrt(.9 * .9) = .2012 > .3873 * .4 = .1549
    beam = beam_search(ens.step, ens.start(torch.zeros(1, 1)), BOS, EOS, beam=3, max_len=5)[0]
    assert beam.tokens == [A]
    assert beam.log_prob == pytest.approx(math.log(math.sqrt(0.05) * 0.9), abs=1e-5)


def _members(n: int, vocab: int = 9, feature_dim: int = 5) -> list[AttentionDecoder]:
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        out.append(AttentionDecoder(vocab, feature_dim, project_dim=4, embed_dim=4, hidden=6, attention_dim=3).eval())
    return out


def test_ensemble_of_attention_decoders_matches_its_members_step_and_teacher_forcing() -> None:
    members = _members(3)
    ens = EnsembleDecoder(members).eval()
    torch.manual_seed(9)
    feats = torch.randn(2, 5, 2, 3)
    tokens = torch.tensor([[2, 4, 5, 6], [2, 7, 7, 4]])
    with torch.no_grad():
        logp, alphas = ens.forward_attention(feats, tokens)
        singles = [m.forward_attention(feats, tokens) for m in members]
        expect = sum(s[0] for s in singles) / 3
        assert torch.allclose(logp, expect, atol=1e-6)
        assert torch.allclose(alphas, sum(s[1] for s in singles) / 3, atol=1e-6)
        assert torch.allclose(alphas.sum(-1), torch.ones(2, 4), atol=1e-6)
        assert torch.allclose(ens(feats, tokens), expect, atol=1e-6)
        state = ens.start(feats)
        for t in range(4):  # step by step equals teacher forcing, and equals each member's own step
            step_logp, state = ens.step(tokens[:, t], state)
            assert torch.allclose(step_logp, expect[:, t], atol=1e-5)
    # an ensemble of one decodes exactly as its member
    vocab = CaptionVocab(["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d", "e"])
    one = decode_captions(EnsembleDecoder(members[:1]), vocab, feats, beam=1, max_len=6)
    assert one == decode_captions(members[0], vocab, feats, beam=1, max_len=6)
    assert decode_captions(EnsembleDecoder(members[:1]), vocab, feats, beam=3, max_len=6) == decode_captions(
        members[0], vocab, feats, beam=3, max_len=6
    )
    with pytest.raises(InputError, match="members"):
        EnsembleDecoder([])
    with pytest.raises(InputError, match="members"):
        EnsembleDecoder([members[0], _members(1, vocab=8)[0]])


def test_fit_without_dev_trains_the_fixed_epochs_and_refuses_half_a_dev_split() -> None:
    torch.manual_seed(0)
    feats = torch.randn(6, 5, 2, 2)
    caps = [["red", "circle"], ["blue", "square"], ["red", "square"]] * 2
    kw: dict[str, Any] = {"decoder_kwargs": {"project_dim": 4, "embed_dim": 4, "hidden": 8, "attention_dim": 4}}
    fit = fit_attention(feats, caps, None, None, epochs=3, seed=0, min_count=1, **kw)
    assert fit.best_epoch == 3 and [h["epoch"] for h in fit.history] == [1, 2, 3]
    assert all(set(h) == {"epoch", "loss"} for h in fit.history)
    # the same seed with a dev split trains the same weights; the last epoch's state is the refit's
    with_dev = fit_attention(feats, caps, feats[:2], [[c] for c in caps[:2]], epochs=3, seed=0, min_count=1,
                             select="loss", track_bleu=False, **kw)  # fmt: skip
    assert [round(h["loss"], 6) for h in with_dev.history] == [round(h["loss"], 6) for h in fit.history]
    assert all("dev_bleu4" not in h and "dev_loss" in h for h in with_dev.history)
    with pytest.raises(InputError, match="dev_feats"):
        fit_attention(feats, caps, feats[:2], None, epochs=1)


def test_ensemble_checkpoint_round_trip_keeps_members_and_decoding(tmp_path: Path) -> None:
    from netloupe.caption.attention_train import load_attention_captioner, save_decoder

    members = _members(2, feature_dim=1280)
    vocab = CaptionVocab(["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d", "e"])
    decoding = {"beam": 3, "min_len": 2, "no_repeat_ngram": 3, "max_len": 30}
    path = save_decoder(EnsembleDecoder(members), vocab, tmp_path / "ens.pt", {"bleu4": 1.0}, "card", decoding=decoding)
    bundle = load_attention_captioner(path)
    dec = bundle.captioner.decoder
    assert isinstance(dec, EnsembleDecoder) and len(dec) == 2
    assert bundle.decoding == decoding and bundle.vocab.words == vocab.words
    feats = torch.randn(1, 1280, 2, 2)
    tokens = torch.tensor([[2, 4, 5]])
    with torch.no_grad():
        assert torch.allclose(dec(feats, tokens), EnsembleDecoder(members)(feats, tokens), atol=1e-6)


def test_choose_on_dev_takes_the_best_dev_bleu_with_the_recorded_scores() -> None:
    from netloupe.caption.medpix import choose_on_dev

    members = _members(3)
    vocab = CaptionVocab(["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d", "e"])
    torch.manual_seed(4)
    feats = torch.randn(8, 5, 2, 2)
    refs = [[["a", "b", "c", "d", "e", "a"]], [["b", "c", "d", "e"]]] * 4
    decodings = [("greedy", 1, 0, 0), ("greedy, >= 4 words", 1, 4, 0), ("beam 2, no repeated bigram", 2, 0, 2)]
    size, chosen, table = choose_on_dev(members, vocab, feats, refs, sizes=(1, 3, 5), decodings=decodings)
    assert set(table) == {"1", "3"}  # 5 > the 3 members: not tried
    for m in ("1", "3"):  # every recorded score is that of the ensemble of the first m members
        for label, b, lo, rep in decodings:
            caps = decode_captions(EnsembleDecoder(members[: int(m)]), vocab, feats, beam=b, min_len=lo,
                                   no_repeat_ngram=rep)  # fmt: skip
            assert table[m][label]["bleu4"] == pytest.approx(100 * corpus_bleu(caps, refs)["bleu4"], abs=1e-3)
            assert table[m][label]["cider_d"] == pytest.approx(cider_d(caps, refs)[0], abs=1e-4)
    best = max(v["bleu4"] for per in table.values() for v in per.values())
    assert table[str(size)][chosen[0]]["bleu4"] == best
    ties = [(int(m), i) for m in table for i, d in enumerate(decodings) if table[m][d[0]]["bleu4"] == best]
    assert (size, decodings.index(chosen)) == min(ties)  # ties: the smaller ensemble, then the earlier decoding
