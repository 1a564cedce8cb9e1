"""``netloupe caption``: train/score the MedPix captioner, and caption one image with per-word Grad-CAM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..io.atomic import atomic_write
from ._console import console, fail

__all__ = ["register"]

DEFAULT_CKPT = Path("out/caption/captioner.pt")


def caption(
    image: Path = typer.Argument(..., help="image file to caption"),
    model: Path = typer.Option(
        DEFAULT_CKPT,
        help="captioner checkpoint (`netloupe caption-train`, or an attention captioner such as "
        "src/netloupe/models/data/synthetic_captioner.pt)",
    ),
    explain: bool = typer.Option(False, "--explain", help="Grad-CAM per word, written as a PNG strip"),
    out: Path | None = typer.Option(None, help="PNG for the strip (default: IMAGE-caption.png)"),
    beam: int | None = typer.Option(
        None, help="beam width (1 = greedy; default: the decoding recorded in the checkpoint, else 3)"
    ),
) -> None:
    """Caption IMAGE; with --explain also show where in the image each word came from.

    A checkpoint that records the decoding chosen on dev (the MedPix ensemble of ``caption-attention medpix``)
    is decoded that way: its beam width (unless --beam is given), minimum length and n-gram blocking.
    """
    import matplotlib.pyplot as plt
    import torch

    from ..caption.explain import explain_caption, strip_figure

    torch.set_num_threads(1)
    if beam is not None and beam < 1:
        fail(f"beam: expected >= 1, got {beam}")
    bundle = _load_any(model)
    if not image.is_file():
        fail(f"image: {image} not found")
    recorded: dict[str, int] = dict(getattr(bundle, "decoding", {}) or {})
    width = beam if beam is not None else recorded.get("beam", 3)
    extra: dict[str, Any] = {
        "min_len": recorded.get("min_len", 0),
        "no_repeat_ngram": recorded.get("no_repeat_ngram", 0),
    }
    if recorded:  # decode as the recorded scores were computed: never <unk>, <pad> or <bos>
        v = bundle.vocab
        extra["forbid"] = [v.unk_id, v.pad_id, v.bos_id]
    if not explain:
        from ..caption.data import load_image

        x = bundle.preprocess(load_image(image))[None]
        hyp = bundle.captioner.generate(x, bundle.vocab.bos_id, bundle.vocab.eos_id, beam=width, **extra)[0]
        console.print(" ".join(bundle.vocab.decode(hyp.tokens)))
        return
    expl = explain_caption(bundle.captioner, bundle.vocab, bundle.preprocess, image, beam=width, **extra)
    console.print(" ".join(expl.words))
    path = out or image.with_name(image.stem + "-caption.png")
    fig = strip_figure(expl)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90), keep_suffix=True)  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]
    console.print(f"wrote {path}")


def _load_any(model: Path) -> Any:
    """The pooled-feature captioner or, for a Show-Attend-Tell checkpoint, the attention captioner."""
    from ..caption.attention_train import load_attention_captioner
    from ..caption.train import load_captioner
    from ..errors import ModelLoadError

    try:
        return load_captioner(model)
    except ModelLoadError as first:
        if "format" not in str(first):
            raise
        return load_attention_captioner(model)


def caption_train(
    data: Path | None = typer.Option(None, help="medpix2-captions-subset folder (default: shared data)"),
    out: Path = typer.Option(Path("results/caption"), help="folder for scores and figures"),
    cache: Path = typer.Option(Path("out/caption"), help="folder for cached features and the checkpoint"),
    epochs: int = typer.Option(25),
    seed: int = typer.Option(0),
    audit_images: int = typer.Option(100, help="test images explained for the watermark audit"),
) -> None:
    """Train the captioner (fixed seed), score it on the test split and audit the watermark."""
    import torch

    from .._paths import shared_data_dir
    from ..caption.evaluate import evaluate_captioner

    torch.set_num_threads(1)
    if data is None:
        root = shared_data_dir()
        if root is None or not (root / "medpix2-captions-subset").is_dir():
            fail("data: pass --data with the medpix2-captions-subset folder")
        data = root / "medpix2-captions-subset"
    res = evaluate_captioner(data, out, cache, epochs, seed, audit_images, log=console.print)
    console.print((out / "scores.md").read_text())
    console.print(f"checkpoint: {res['checkpoint']}  ({res['wall_seconds']:.0f} s)")


def caption_attention(
    which: str = typer.Argument(..., help="synthetic (shapes scenes, grounded words) or medpix (real data)"),
    data: Path | None = typer.Option(None, help="medpix2-captions-subset folder (default: shared data)"),
    out: Path = typer.Option(Path("results/caption"), help="folder for scores and figures"),
    cache: Path = typer.Option(Path("out/caption"), help="folder for cached encoder maps (and MedPix checkpoint)"),
    ship: Path | None = typer.Option(None, help="synthetic only: also write synthetic_captioner.pt (float16) here"),
    epochs: int = typer.Option(0, help="epochs (0 = 25 synthetic / at most 14 per medpix member)"),
    seed: int = typer.Option(0, help="synthetic only: the seed (medpix members use seeds 0..SEEDS-1)"),
    seeds: int = typer.Option(5, help="medpix only: decoders trained (seeds 0..SEEDS-1); ensemble size chosen on dev"),
    workers: int = typer.Option(1, help="medpix only: members trained at the same time (one process and thread each)"),
) -> None:
    """Train the Show-Attend-Tell captioner, score it against baselines; synthetic: pointing game per word."""
    import torch

    from .._paths import shared_data_dir
    from ..caption.attention_eval import run_synthetic
    from ..caption.medpix import run_medpix

    torch.set_num_threads(1)
    if which == "synthetic":
        run_synthetic(out, cache, ship, epochs or 25, seed, log=console.print)
        console.print((out / "synthetic.md").read_text())
        return
    if which != "medpix":
        fail(f"which: expected 'synthetic' or 'medpix', got {which!r}")
    if data is None:
        root = shared_data_dir()
        if root is None or not (root / "medpix2-captions-subset").is_dir():
            fail("data: pass --data with the medpix2-captions-subset folder")
        data = root / "medpix2-captions-subset"
    if seeds < 1 or workers < 1:
        fail(f"seeds, workers: expected >= 1, got {seeds} and {workers}")
    run_medpix(data, out, cache, epochs or 14, seeds, workers, log=console.print)
    console.print((out / "medpix_attention.md").read_text())


def register(app: typer.Typer) -> None:
    """Add ``netloupe caption IMAGE [--explain]``, ``netloupe caption-train`` and ``caption-attention``."""
    app.command("caption")(caption)
    app.command("caption-train")(caption_train)
    app.command("caption-attention")(caption_attention)
