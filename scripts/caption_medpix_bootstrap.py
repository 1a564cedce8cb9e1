"""Is the MedPix captioner's gap to the nearest-neighbour baseline larger than the test set's noise?

    PYTHONPATH=src python scripts/caption_medpix_bootstrap.py

Reads the checkpoint and cached encoder maps written by `netloupe caption-attention medpix` (out/caption/):
the ensemble chosen on dev, refit on train + dev, with the decoding recorded in the checkpoint. Decodes the
test split again and runs a paired bootstrap over clinical cases (1,000 resamples for BLEU-4, 300 for
CIDEr-D) against the nearest-neighbour caption retrieved from train (the baseline as first defined) and
from train + dev (the same data the refit captioner saw). Writes results/caption/medpix_bootstrap.{md,json}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from netloupe._paths import shared_data_dir
from netloupe.caption.attention_eval import machine_line
from netloupe.caption.attention_train import decode_captions, load_attention_captioner, nearest_and_commonest
from netloupe.caption.bleu import corpus_bleu
from netloupe.caption.cider import cider_d
from netloupe.caption.data import read_captions
from netloupe.caption.significance import paired_bootstrap
from netloupe.caption.text import tokenize_caption
from netloupe.io.atomic import atomic_write_text


def main() -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    root = shared_data_dir()
    if root is None:
        sys.exit("error: no shared data folder (set $NETLOUPE_DATA)")
    rows = read_captions(root / "medpix2-captions-subset")
    feats = torch.load("out/caption/spatial-medpix.pt", weights_only=True)
    bundle = load_attention_captioner("out/caption/medpix_attention.pt")
    dec, vocab, d = bundle.captioner.decoder, bundle.vocab, bundle.decoding
    if not d:
        sys.exit(
            "error: out/caption/medpix_attention.pt records no decoding; rerun `netloupe caption-attention medpix`"
        )
    chosen = json.loads(Path("results/caption/medpix_attention.json").read_text())["chosen"]
    split = {n: [i for i, r in enumerate(rows) if r.split == n] for n in ("train", "dev", "test")}
    tokens = [tokenize_caption(r.caption) for r in rows]
    test = feats[split["test"]]
    refs = [[tokens[i]] for i in split["test"]]
    cases = [rows[i].case for i in split["test"]]
    both = split["train"] + split["dev"]
    baselines = {
        "nearest-neighbour caption (train)": nearest_and_commonest(
            feats[split["train"]], [tokens[i] for i in split["train"]], test
        )["nearest-neighbour caption"],
        "nearest-neighbour caption (train + dev)": nearest_and_commonest(feats[both], [tokens[i] for i in both], test)[
            "nearest-neighbour caption"
        ],
    }
    caps = decode_captions(
        dec, vocab, test, beam=d["beam"], max_len=d.get("max_len", 30), min_len=d["min_len"],
        no_repeat_ngram=d["no_repeat_ngram"],
    )  # fmt: skip

    def bleu4(c, r):  # type: ignore[no-untyped-def]
        return 100 * corpus_bleu(c, r)["bleu4"]

    def cider(c, r):  # type: ignore[no-untyped-def]
        return cider_d(c, r)[0]

    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, nn_caps in baselines.items():
        out[name] = {
            "bleu4": paired_bootstrap(bleu4, caps, nn_caps, refs, cases, samples=1000, seed=0),
            "cider_d": paired_bootstrap(cider, caps, nn_caps, refs, cases, samples=300, seed=0),
        }
    result = {"captioner": chosen, "decoding": d, "groups": "clinical case (U_id), 69 test cases", "vs": out,
              "machine": machine_line(), "wall_seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
    atomic_write_text(Path("results/caption/medpix_bootstrap.json"), json.dumps(result, indent=1))
    lines = [
        "# MedPix: attention captioner vs nearest-neighbour caption, paired bootstrap over clinical cases",
        "",
        f"Measured {result['machine']}; wall time {result['wall_seconds']:.0f} s. Command: "
        "`PYTHONPATH=src python scripts/caption_medpix_bootstrap.py` (after `netloupe caption-attention medpix`).",
        f"Captioner: {chosen} (every choice made on dev; `medpix_attention.md`). Resampling the 69 test cases "
        "with replacement (all images of a drawn case kept); 1,000 resamples for BLEU-4, 300 for CIDEr-D "
        "(Koehn, 2004). The nearest neighbour retrieves from train (the baseline as first defined) or from "
        "train + dev (the data the refit captioner saw).",
        "",
        "| baseline | metric | captioner | nearest neighbour | difference | 95 % interval of the difference "
        "| share of resamples where the captioner wins |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for name, per in out.items():
        for metric, r in per.items():
            label = "BLEU-4" if metric == "bleu4" else "CIDEr-D"
            lines.append(
                f"| {name} | {label} | {r['a']:.3f} | {r['b']:.3f} | {r['diff']:+.3f} | "
                f"[{r['diff_lo']:+.3f}, {r['diff_hi']:+.3f}] | {100 * r['p_a_better']:.1f} % |"
            )
    atomic_write_text(Path("results/caption/medpix_bootstrap.md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
