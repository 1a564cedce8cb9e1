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
    beam: int = typer.Option(3, help="beam width (1 = greedy)"),
) -> None:
    """Caption IMAGE; with --explain also show where in the image each word came from."""
    import matplotlib.pyplot as plt
    import torch

    from ..caption.explain import explain_caption, strip_figure

    torch.set_num_threads(1)
    bundle = _load_any(model)
    if not image.is_file():
        fail(f"image: {image} not found")
    if not explain:
        from ..caption.data import load_image

        x = bundle.preprocess(load_image(image))[None]
        hyp = bundle.captioner.generate(x, bundle.vocab.bos_id, bundle.vocab.eos_id, beam=beam)[0]
        console.print(" ".join(bundle.vocab.decode(hyp.tokens)))
        return
    expl = explain_caption(bundle.captioner, bundle.vocab, bundle.preprocess, image, beam=beam)
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
    epochs: int = typer.Option(0, help="epochs (0 = 25 synthetic / 14 medpix)"),
    seed: int = typer.Option(0),
) -> None:
    """Train the Show-Attend-Tell captioner, score it against baselines; synthetic: pointing game per word."""
    import torch

    from .._paths import shared_data_dir
    from ..caption.attention_eval import run_medpix, run_synthetic

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
    run_medpix(data, out, cache, epochs or 14, seed, log=console.print)
    console.print((out / "medpix_attention.md").read_text())


def register(app: typer.Typer) -> None:
    """Add ``netloupe caption IMAGE [--explain]``, ``netloupe caption-train`` and ``caption-attention``."""
    app.command("caption")(caption)
    app.command("caption-train")(caption_train)
    app.command("caption-attention")(caption_attention)
