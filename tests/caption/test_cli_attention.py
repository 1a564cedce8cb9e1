"""`netloupe caption IMAGE --model synthetic_captioner.pt [--explain]` with the shipped attention captioner."""

from __future__ import annotations

from importlib import resources
from itertools import pairwise
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from netloupe.caption.synthetic import make_scenes
from netloupe.cli.caption import register


def test_caption_cli_reads_an_attention_checkpoint_and_writes_a_strip(tmp_path: Path) -> None:
    ckpt = resources.files("netloupe.models").joinpath("data/synthetic_captioner.pt")
    if not ckpt.is_file():
        pytest.skip("synthetic_captioner.pt not shipped")
    scene = make_scenes(1, seed=2)[0]  # first test scene: "a yellow circle below a red circle"
    image = tmp_path / "scene.png"
    scene.image().save(image)
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["caption", str(image), "--model", str(ckpt), "--beam", "1", "--explain"])
    assert res.exit_code == 0, res.output
    words = res.output.split("\n")[0].split()
    assert set(words) >= {"yellow", "red", "circle"}  # measured: "a red circle above a yellow circle"
    assert (tmp_path / "scene-caption.png").stat().st_size > 1000
    bad = CliRunner().invoke(app, ["caption", str(image), "--model", str(tmp_path / "none.pt")])
    assert bad.exit_code != 0


def test_caption_cli_decodes_an_ensemble_as_its_checkpoint_records(tmp_path: Path) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from netloupe.caption.attention import AttentionDecoder
    from netloupe.caption.attention_train import load_attention_captioner, save_decoder
    from netloupe.caption.data import load_image
    from netloupe.caption.ensemble import EnsembleDecoder
    from netloupe.caption.text import CaptionVocab

    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        members.append(AttentionDecoder(9, 1280, project_dim=4, embed_dim=4, hidden=6, attention_dim=3).eval())
    vocab = CaptionVocab(["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d", "e"])
    decoding = {"beam": 1, "min_len": 6, "no_repeat_ngram": 2, "max_len": 30}
    ckpt = save_decoder(EnsembleDecoder(members), vocab, tmp_path / "ens.pt", {}, "test ensemble", decoding=decoding)
    image = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(image)
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["caption", str(image), "--model", str(ckpt)])
    assert res.exit_code == 0, res.output
    words = res.output.split("\n")[0].split()
    bundle = load_attention_captioner(ckpt)
    x = bundle.preprocess(load_image(image))[None]
    hyp = bundle.captioner.generate(x, 2, 3, beam=1, min_len=6, no_repeat_ngram=2, forbid=[1, 0, 2])[0]
    assert words == vocab.decode(hyp.tokens)  # the recorded decoding, not the CLI's defaults
    assert len(words) >= 6 and "<unk>" not in words
    bigrams = list(pairwise(words))
    assert len(bigrams) == len(set(bigrams))
    bad = CliRunner().invoke(app, ["caption", str(image), "--model", str(ckpt), "--beam", "0"])
    assert bad.exit_code != 0
