"""Date translation with attention: hand-computed Luong attention, the generator's known alignment,
alignment scoring on toy maps, integrated-gradients completeness, and the shipped translator."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from netloupe.errors import InputError
from netloupe.sequence.translate_data import (
    HELD_OUT_FORMATS,
    LOCALES,
    TRAIN_FORMATS,
    make_splits,
    render_date,
    sample_pairs,
    source_vocab,
)
from netloupe.sequence.translate_explain import alignment_accuracy, explain_translation, token_attributions
from netloupe.sequence.translate_model import DateTranslator, luong_attention
from netloupe.sequence.translate_train import (
    SHIPPED_FILE,
    TranslatorBundle,
    batch_sources,
    load_translator,
    save_translator,
    translate,
)

E = math.e


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """These RNN loops are tiny; one thread avoids contention on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_luong_dot_attention_hand_computed() -> None:
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]]])
    w, c = luong_attention(q, k)  # scores 1, 0, 2
    z = E + 1 + E**2
    assert torch.allclose(w, torch.tensor([[E / z, 1 / z, E**2 / z]]), atol=1e-6)
    assert torch.allclose(c, torch.tensor([[(E + 2 * E**2) / z, 1 / z]]), atol=1e-6)


def test_luong_general_attention_and_mask_hand_computed() -> None:
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]]])
    swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # W_a k swaps the coordinates: scores 0, 1, 0
    w, _ = luong_attention(q, k, weight=swap)
    assert torch.allclose(w, torch.tensor([[1, E, 1]]) / (2 + E), atol=1e-6)
    w, c = luong_attention(q, k, mask=torch.tensor([[True, True, False]]))  # dot scores 1, 0, (masked)
    assert torch.allclose(w, torch.tensor([[E / (E + 1), 1 / (E + 1), 0.0]]), atol=1e-6)
    assert torch.allclose(c, torch.tensor([[E / (E + 1), 1 / (E + 1)]]), atol=1e-6)


def test_render_date_records_the_known_alignment() -> None:
    p = render_date(dt.date(1999, 3, 12), "{wd} {d} {Month} {yyyy}")
    assert p.source == "Friday 12 March 1999" and p.target == "1999-03-12"
    assert p.spans == {"weekday": (0, 6), "day": (7, 9), "month": (10, 15), "year": (16, 20)}
    assert [p.aligned_span(t) for t in range(10)] == [(16, 20)] * 4 + [None, (10, 15), (10, 15), None, (7, 9), (7, 9)]
    de = render_date(dt.date(2003, 3, 1), "{wd}, {d}. {Month} {yyyy}", "de")
    assert de.source == "Samstag, 1. März 2003" and de.source[slice(*de.spans["month"])] == "März"
    yy = render_date(dt.date(2046, 11, 17), "{dd}/{mm}/{yy}", "fr")
    assert yy.source == "17/11/46" and yy.target == "2046-11-17" and yy.spans["year"] == (6, 8)
    assert render_date(dt.date(2001, 1, 22), "the {ord} of {Month} {yyyy}").source == "the 22nd of January 2001"


def test_every_generated_pair_is_consistent_with_its_spans() -> None:
    rng = random.Random(3)
    for p in sample_pairs(300, TRAIN_FORMATS, rng) + sample_pairs(300, HELD_OUT_FORMATS, rng, test_dates=True):
        year = p.source[slice(*p.spans["year"])]
        assert p.target[4 - len(year) : 4] == year
        day = p.source[slice(*p.spans["day"])].rstrip("stndrh")
        assert int(day) == int(p.target[8:10])
        month = p.source[slice(*p.spans["month"])]
        names = LOCALES[p.locale]
        months = [m.lower() for m in names["Month"] + names["Mon"]]
        number = int(month) if month.isdigit() else months.index(month.lower()) % 12 + 1
        assert number == int(p.target[5:7])
        assert dt.date.fromisoformat(p.target)  # a real calendar date


def test_splits_hold_out_dates_and_formats() -> None:
    s = make_splits(0, n_train=2000, n_val=10, n_test=200)
    assert {p.target for p in s.train}.isdisjoint({p.target for p in s.test + s.test_formats})
    held = {(loc, f) for loc, fs in HELD_OUT_FORMATS.items() for f in fs}
    train = {(loc, f) for loc, fs in TRAIN_FORMATS.items() for f in fs}
    assert held.isdisjoint(train)
    assert {(p.locale, p.fmt) for p in s.test_formats} <= held
    assert make_splits(0, n_train=50, n_val=1, n_test=1).train == make_splits(0, n_train=50, n_val=1, n_test=1).train
    with pytest.raises(InputError, match="lacks"):
        render_date(dt.date(2000, 1, 1), "{d} {Month}")


def test_alignment_accuracy_on_toy_maps() -> None:
    maps = np.zeros((2, 3, 5))
    maps[0, 0, 1] = 1.0  # inside (0, 2): hit
    maps[0, 1, 4] = -3.0  # |.| largest at 4, outside (2, 4): miss
    maps[0, 2, 0] = 9.0  # not scored
    maps[1, 0, 3] = 0.5  # inside (3, 5): hit
    maps[1, 1, 2] = 0.2  # inside (2, 3): hit
    spans = [[(0, 2), (2, 4), None], [(3, 5), (2, 3), (0, 1)]]  # last: argmax of zeros = 0, inside: hit
    assert alignment_accuracy(maps, spans) == pytest.approx(4 / 5)
    with pytest.raises(InputError):
        alignment_accuracy(maps, [[None] * 3] * 2)


def _tiny_bundle() -> TranslatorBundle:
    torch.manual_seed(0)
    vocab = source_vocab()
    return TranslatorBundle(DateTranslator(len(vocab), 14, emb=8, hidden=8, tgt_emb=4).eval(), vocab)


def test_attention_rows_ignore_padding() -> None:
    b = _tiny_bundle()
    src, lengths = batch_sources(b.vocab, ["1 May 99", "Wednesday 31 December 2049"])
    ids, attn = b.model.greedy(src, lengths)
    assert torch.allclose(attn.sum(-1), torch.ones(2, 10), atol=1e-5)
    assert float(attn[0, :, 8:].abs().max()) == 0.0  # padding gets no attention
    alone_ids, alone = b.model.greedy(*batch_sources(b.vocab, ["1 May 99"]))
    assert torch.equal(alone_ids[0], ids[0]) and torch.allclose(alone[0], attn[0, :, :8], atol=1e-5)


def test_integrated_gradients_complete_and_gradient_x_input_matches_autograd() -> None:
    b = _tiny_bundle()
    m = b.model
    src, lengths = batch_sources(b.vocab, ["12 Mar 1999"])
    out, _ = m.greedy(src, lengths)
    tgt_in = torch.cat([torch.full((1, 1), m.start), out[:, :-1]], 1)
    ig = token_attributions(m, src, lengths, out, "integrated_gradients", steps=24)
    emb = m.src_embed(src).detach()
    with torch.no_grad():
        full = m.forward_embedded(emb, lengths, tgt_in)[0].gather(-1, out[..., None])[0, :, 0]
        zero = m.forward_embedded(emb * 0, lengths, tgt_in)[0].gather(-1, out[..., None])[0, :, 0]
    assert torch.allclose(ig[0].sum(-1), full - zero, atol=1e-2 * float((full - zero).abs().max()) + 1e-4)
    gxi = token_attributions(m, src, lengths, out, "gradient_x_input")
    e = emb.clone().requires_grad_(True)
    y = m.forward_embedded(e, lengths, tgt_in)[0][0, 4, out[0, 4]]
    (g,) = torch.autograd.grad(y, e)
    assert torch.allclose(gxi[0, 4], (g * emb)[0].sum(-1), atol=1e-6)
    with pytest.raises(InputError, match="method"):
        token_attributions(m, src, lengths, out, "occlusion")


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    b = _tiny_bundle()
    path = save_translator(b, tmp_path / "t.pt")
    again = load_translator(path)
    texts = ["Tuesday 12 March 1999", "3/4/77"]
    assert translate(again, texts) == translate(b, texts)


_SHIPPED = resources.files("netloupe.models").joinpath(f"data/{SHIPPED_FILE}").is_file()


@pytest.mark.skipif(not _SHIPPED, reason="the shipped date translator is absent")
def test_shipped_translator_translates_and_attends_to_the_year() -> None:
    b = load_translator()
    texts = ["Tuesday 12 March 1999", "le 3 août 1987", "Samstag, 1. März 2003", "Mar 07 45"]
    assert translate(b, texts) == ["1999-03-12", "1987-08-03", "2003-03-01", "2045-03-07"]
    pair = render_date(dt.date(1999, 3, 12), "{wd} {d} {Month} {yyyy}")
    e = explain_translation(b, pair.source, pair=pair)
    assert e.output == "1999-03-12"
    year = e.attention[:4, 16:20].sum(-1)  # attention mass on the year characters for the year digits
    assert float(year.min()) > 0.5


@pytest.mark.skipif(not _SHIPPED, reason="the shipped date translator is absent")
def test_cli_translate_writes_the_figure(tmp_path: Path) -> None:
    from netloupe.cli import seq

    app = typer.Typer()
    seq.register(app)
    out = tmp_path / "t.png"
    res = CliRunner().invoke(app, ["seq", "translate", "Tuesday 12 March 1999", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1999-03-12" in res.output and out.read_bytes()[:4] == b"\x89PNG"
    bad = CliRunner().invoke(app, ["seq", "translate", "12 March 1999", "--out", str(tmp_path / "t.txt")])
    assert bad.exit_code == 2 and "out:" in bad.output
