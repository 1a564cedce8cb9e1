"""Explaining sentences and signals end to end with tiny models; bad inputs give clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from netloupe.errors import InputError, MethodNotApplicable, ModelLoadError, UnknownMethod
from netloupe.sequence.checkpoint import SequenceBundle, load_bundle, save_bundle
from netloupe.sequence.data import Vocab, pad_batch, tokenize
from netloupe.sequence.explain import explain_signal, explain_text
from netloupe.sequence.faithfulness import deletion_vs_random
from netloupe.sequence.inspect import lstm_states
from netloupe.sequence.io import read_signal_file
from netloupe.sequence.models import FeatureLSTM, SlotTagger, TokenClassifier
from netloupe.sequence.views import plot_attribution_trace, plot_state_heatmaps, tokens_html, tokens_rich


@pytest.fixture
def text_bundle() -> SequenceBundle:
    vocab = Vocab(["<pad>", "<unk>", "good", "bad", "food", "the", "was"])
    model = TokenClassifier(len(vocab), 2, embed_dim=4, hidden=3, dropout=0.0).eval()
    return SequenceBundle("sentiment", model, ["negative", "positive"], vocab=vocab, meta={"kind": "text"})


@pytest.fixture
def signal_bundle() -> SequenceBundle:
    model = FeatureLSTM(1, 2, hidden=4).eval()
    return SequenceBundle("ecg200-lstm", model, ["normal", "mi"], meta={"kind": "signal", "length": 16})


def test_explain_text_and_oov(text_bundle: SequenceBundle) -> None:
    e = explain_text(text_bundle, "The food was GOOD, zzz!", steps=8)
    assert e.tokens == ["the", "food", "was", "good", "zzz", "!"]
    assert e.unknown == [False, False, False, False, True, True]
    assert e.label in ("negative", "positive")
    assert e.attribution.shape == (6,)
    assert "<span" in tokens_html(e.tokens, e.attribution, unknown=e.unknown)
    assert "food" in str(tokens_rich(e.tokens, e.attribution))


def test_text_bad_inputs(text_bundle: SequenceBundle) -> None:
    with pytest.raises(InputError, match="no words"):
        explain_text(text_bundle, "   ...  ")
    with pytest.raises(InputError, match=r"no word of the sentence \(2 tokens\)"):
        explain_text(text_bundle, "qwerty asdf")
    with pytest.raises(UnknownMethod, match="closest"):
        explain_text(text_bundle, "good food", method="integrated_gradient")
    with pytest.raises(MethodNotApplicable):
        explain_text(text_bundle, "good food", method="gradcam")


def test_tagger_explanation_has_slot_attributions() -> None:
    vocab = Vocab(["<pad>", "<unk>", "arrive", "orlando", "on", "november", "2nd"])
    torch.manual_seed(0)
    model = SlotTagger(len(vocab), num_slots=3, num_intents=2, embed_dim=4, hidden=4, dropout=0.0).eval()
    with torch.no_grad():
        model.slot_head.bias.copy_(torch.tensor([0.0, 5.0, -5.0]))  # every token predicted as B-city
    bundle = SequenceBundle(
        "atis", model, ["flight", "fare"], vocab=vocab, slot_labels=["O", "B-city", "I-city"]
    )
    e = explain_text(bundle, "arrive orlando on november 2nd", steps=4)
    assert e.slots == ["B-city"] * 5
    assert sorted(e.slot_attributions) == [0, 1, 2, 3, 4]


def test_explain_signal_and_bad_signals(signal_bundle: SequenceBundle) -> None:
    beat = np.sin(np.linspace(0, 6, 16))
    e = explain_signal(signal_bundle, beat, method="occlusion")
    assert e.attribution.shape == (16,)
    assert e.signal.mean().abs() < 1e-5  # z-normalised
    with pytest.raises(InputError, match=r"beats of 16 samples, got 20; .*--resample"):
        explain_signal(signal_bundle, np.zeros(20))
    assert explain_signal(signal_bundle, np.sin(np.linspace(0, 6, 40)), resample=True).attribution.shape == (
        16,
    )
    with pytest.raises(InputError, match="NaN"):
        explain_signal(signal_bundle, np.full(16, np.nan))
    with pytest.raises(MethodNotApplicable, match="gradcam"):
        explain_signal(signal_bundle, beat, method="gradcam")
    fig = plot_attribution_trace(e.signal[0], e.attribution, title="t")
    assert fig is not None


def test_read_signal_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1 2 3\n")
    (tmp_path / "b.csv").write_text("1\n2\n3\n4\n")
    (tmp_path / "c.txt").write_text("1 2\n3\n")
    (tmp_path / "d.txt").write_text("1 x 3\n")
    np.save(tmp_path / "e.npy", np.arange(5.0))
    assert read_signal_file(tmp_path / "a.txt").tolist() == [1, 2, 3]
    assert read_signal_file(tmp_path / "b.csv").tolist() == [1, 2, 3, 4]
    assert read_signal_file(tmp_path / "e.npy").shape == (5,)
    with pytest.raises(InputError, match="different lengths"):
        read_signal_file(tmp_path / "c.txt")
    with pytest.raises(InputError, match="numbers"):
        read_signal_file(tmp_path / "d.txt")
    with pytest.raises(InputError, match="not found"):
        read_signal_file(tmp_path / "missing.txt")


def test_checkpoint_roundtrip_and_errors(text_bundle: SequenceBundle, tmp_path: Path) -> None:
    path = save_bundle(text_bundle, tmp_path / "m.pt")
    loaded = load_bundle(path)
    ids, lengths = pad_batch([[2, 4, 5], [3]])
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(ids, lengths), text_bundle.model(ids, lengths))
    assert loaded.vocab is not None
    assert loaded.vocab.tokens == text_bundle.vocab.tokens  # type: ignore[union-attr]
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="not a readable"):
        load_bundle(tmp_path / "junk.pt")
    with pytest.raises(ModelLoadError, match=r"sentimnet.*closest: 'sentiment'"):
        load_bundle("sentimnet")
    with pytest.raises(InputError, match="empty"):
        pad_batch([[1], []])


def test_lstm_states_match_fused_and_heatmap(text_bundle: SequenceBundle) -> None:
    tok = torch.tensor([[5, 4, 6, 2]])
    fwd = lstm_states(text_bundle.model, tok)
    bwd = lstm_states(text_bundle.model, tok, reverse=True)
    fused, _ = text_bundle.model.rnn(text_bundle.model.embed(tok))  # type: ignore[operator]
    torch.testing.assert_close(torch.cat([fwd.hidden, bwd.hidden], -1), fused, atol=1e-6, rtol=0)
    assert plot_state_heatmaps(fwd.gates(), ["the", "food", "was", "good"]) is not None


def test_deletion_prefers_attributed_steps() -> None:
    # Score = sigmoid(sum_t w_t x_t) with known w: deleting the steps with the largest w_t x_t must hurt most.
    w = torch.linspace(-1, 2, 10)
    x = torch.ones(4, 10)

    def forward(inp: torch.Tensor) -> torch.Tensor:
        return (inp * w).sum(1)

    curves = deletion_vs_random(
        forward, x, w.expand(4, 10), torch.sigmoid, fractions=(0.0, 0.2, 0.5), repeats=20
    )
    assert curves.attributed[0] == curves.random[0]
    assert curves.aopc_attributed > curves.aopc_random + 0.05


def test_cli_explain_text_and_signal(
    text_bundle: SequenceBundle, signal_bundle: SequenceBundle, tmp_path: Path
) -> None:
    import typer

    from netloupe.cli.seq import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    text_ckpt = save_bundle(text_bundle, tmp_path / "t.pt")
    out = tmp_path / "t.html"
    res = runner.invoke(app, ["seq", "explain", "the food was good", "-m", str(text_ckpt), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "<span" in out.read_text()
    sig_ckpt = save_bundle(signal_bundle, tmp_path / "s.pt")
    np.savetxt(tmp_path / "beat.txt", np.sin(np.linspace(0, 6, 16))[None])
    res = runner.invoke(
        app, ["seq", "explain", str(tmp_path / "beat.txt"), "-m", str(sig_ckpt), "--method", "occlusion"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "beat_occlusion.png").is_file()
    res = runner.invoke(app, ["seq", "explain", "", "-m", str(text_ckpt)])
    assert isinstance(res.exception, InputError)  # the entry point prints it as one line, exit 2


def test_tokenize() -> None:
    assert tokenize("Don't buy it!!  5 stars?") == ["don't", "buy", "it", "!", "!", "5", "stars", "?"]
