"""Train, score and explain the captioner on the MedPix 2.0 subset; write tables and figures to a folder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..io.atomic import atomic_write
from .bleu import corpus_bleu
from .explain import energy_share, explain_caption, locate_watermark, strip_figure
from .model import Captioner
from .text import tokenize_caption
from .train import _split, baselines, field_accuracy, greedy_captions, save_captioner, train_captioner

__all__ = ["evaluate_captioner"]

Log = Callable[[str], None] | None
CARD = (
    "Captioner (EfficientNet-Lite0 frozen encoder + LSTM decoder) trained by the user on the MedPix 2.0 "
    "subset (NLM MedPix content; research/teaching use only, do not redistribute). Not a medical device."
)


def _save(fig: object, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90), keep_suffix=True)  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]


def evaluate_captioner(
    data_dir: str | Path,
    out: str | Path = "results/caption",
    cache: str | Path = "out/caption",
    epochs: int = 25,
    seed: int = 0,
    audit_images: int = 100,
    log: Log = None,
) -> dict[str, object]:
    """Train (seeded), score BLEU and fields vs baselines on ``test``, explain examples, audit the watermark."""
    import netloupe

    start = time.perf_counter()
    out = Path(out)
    trained = train_captioner(data_dir, cache, epochs, seed, log)  # reads --data first: a bad path writes nothing
    out.mkdir(parents=True, exist_ok=True)
    rows, feats, vocab = trained.rows, trained.features, trained.vocab
    test = _split(rows, "test")
    test_rows = [rows[i] for i in test]
    refs = [[tokenize_caption(r.caption)] for r in test_rows]
    systems = {
        "LSTM greedy": greedy_captions(trained.decoder, vocab, feats[test]),
        "LSTM beam 3": greedy_captions(trained.decoder, vocab, feats[test], beam=3),
        **baselines(trained),
    }
    table: dict[str, dict[str, float]] = {}
    for name, caps in systems.items():
        bleu = corpus_bleu(caps, refs)
        table[name] = {
            **{k: 100 * v for k, v in bleu.items() if k != "bp"},
            "bp": bleu["bp"],
            **field_accuracy(caps, test_rows),
        }
    table["author captions (reader ceiling)"] = field_accuracy([r.caption for r in test_rows], test_rows)
    ckpt = save_captioner(trained, Path(cache) / "captioner.pt", table["LSTM beam 3"], CARD)

    # Watermark: measured on the training images as the model sees them (224x224), then audited on test.
    train_imgs = np.stack(
        [
            np.asarray(Image.open(rows[i].image_file).convert("L").resize((224, 224), Image.Resampling.BILINEAR))
            for i in _split(rows, "train")
        ]
    )
    box = locate_watermark(train_imgs)
    area = (box[1] - box[0]) * (box[3] - box[2]) / (224 * 224)
    loaded = netloupe.load_model()
    captioner = Captioner(loaded.model, trained.decoder).eval()
    shares, peaks, n_words = [], 0, 0
    from rich.progress import track

    examples = []
    for k, r in enumerate(
        track(test_rows[:audit_images], description="per-word Grad-CAM", transient=True, disable=log is None)
    ):
        expl = explain_caption(captioner, vocab, loaded.preprocess, r.image_file, beam=3)
        s = energy_share(expl.maps, box)
        shares.append(s)
        flat = expl.maps.flatten(1).argmax(1)
        ys, xs = flat // 224, flat % 224
        peaks += int(((ys >= box[0]) & (ys < box[1]) & (xs >= box[2]) & (xs < box[3])).sum())
        n_words += len(expl.words)
        if k in (0, 40, 80):
            examples.append((r, expl))
    all_shares = torch.cat(shares)
    audit = {
        "box_top_bottom_left_right": list(map(int, box)),
        "box_area_share_pct": 100 * area,
        "gradcam_energy_share_pct_mean": 100 * float(all_shares.mean()),
        "gradcam_energy_share_pct_median": 100 * float(all_shares.median()),
        "words_with_peak_in_box_pct": 100 * peaks / max(1, n_words),
        "images": len(shares),
        "words": n_words,
    }
    for j, (r, expl) in enumerate(examples):
        fig: Any = strip_figure(expl, box=box)
        fig.suptitle(f"{r.image_id} ({r.modality}, {r.plane}, {r.region}) | author: {r.caption[:90]}", fontsize=8)
        _save(fig, out / f"strip_{j}.png")

    result = {
        "scores": table,
        "watermark": audit,
        "epochs": epochs,
        "seed": seed,
        "vocab_size": len(vocab),
        "history": trained.history,
        "checkpoint": str(ckpt),
        "wall_seconds": time.perf_counter() - start,
        "examples": {n: [" ".join(c) for c in caps[:5]] for n, caps in systems.items()},
    }
    (out / "scores.json").write_text(json.dumps(result, indent=1))
    (out / "scores.md").write_text(_markdown(table, audit))
    return result


def _markdown(table: dict[str, dict[str, float]], audit: dict[str, object]) -> str:
    cols = [
        "bleu1",
        "bleu2",
        "bleu3",
        "bleu4",
        "modality_acc",
        "plane_acc",
        "region_acc",
        "modality_named",
        "plane_named",
        "region_named",
    ]
    lines = ["| system | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.1f}" if c in row else "–" for c in cols) + " |")
    lines += ["", "Watermark audit (per-word Grad-CAM on `bn2`, test images):", ""]
    lines += [f"- {k}: {v:.2f}" if isinstance(v, float) else f"- {k}: {v}" for k, v in audit.items()]
    return "\n".join(lines) + "\n"
