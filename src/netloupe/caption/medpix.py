"""The MedPix attention captioner's run of record: a seed ensemble, every choice made on dev, test once.

Recipe (``netloupe caption-attention medpix``; writes ``medpix_attention.md/json``):

1. ``seeds`` decoders (seeds 0..K-1) are trained on the train split; each keeps the epoch with the lowest
   teacher-forced dev cross-entropy (at most ``epochs``).
2. On dev, the ensemble size (the first 1, 3 or 5 members; :class:`~netloupe.caption.ensemble.EnsembleDecoder`)
   and the decoding (greedy or beam 3; minimum length 0-25 words; repeated-trigram blocking on or off) are
   chosen together by dev BLEU-4 (ties: the smaller ensemble, then the earlier decoding). Dev CIDEr-D is
   recorded next to it. The neighbour count of the re-ranking hybrid is chosen on dev the same way.
3. The chosen members are trained again on train + dev (same seeds, each for the epoch count its dev run
   chose; no dev split is left to select on), the standard refit once every choice is made.
4. The test split is decoded once with the chosen system. Rows that were not chosen (the train-only ensemble,
   one decoder) are reported for reading, never to choose. The nearest-neighbour baseline is given the same
   data as the captioner: the test table has it retrieving from train (the baseline as first defined) and
   from train + dev (the refit's data).

MedPix is research/teaching use only: the checkpoint stays in the cache folder, never in the package.
Each trained member is cached as ``<cache>/medpix-members/<train|traindev>-<recipe key>-seed<k>.pt`` (the key
hashes the training settings, split size and epochs) and reused by a later run; delete that folder after
changing the training code. Seed 0 reproduces bit for bit (its dev losses match the single-decoder run).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..io.atomic import atomic_write, atomic_write_json, atomic_write_text
from .attention import AttentionDecoder
from .attention_train import Decoder, decode_captions, fit_attention, nearest_and_commonest, rerank_neighbours
from .bleu import corpus_bleu
from .cider import cider_d
from .ensemble import EnsembleDecoder
from .text import CaptionVocab

__all__ = ["ENSEMBLE_SIZES", "MEDPIX_DECODINGS", "RERANK_K", "Decoding", "choose_on_dev", "run_medpix"]

Log = Callable[[str], None] | None
MEDPIX_CARD = (
    "Attention captioner (frozen EfficientNet-Lite0 + an ensemble of Show-Attend-Tell LSTM decoders) trained "
    "by the user on the MedPix 2.0 subset (NLM MedPix content; research/teaching use only, do not "
    "redistribute). Not a medical device."
)
#: (label, beam width, minimum caption length, blocked repeated n-gram size (0 = off)) compared on dev.
Decoding = tuple[str, int, int, int]
MEDPIX_DECODINGS: list[Decoding] = [
    *[(f"greedy{f', >= {m} words' if m else ''}", 1, m, 0) for m in (0, 15, 20, 25)],
    *[(f"greedy{f', >= {m} words' if m else ''}, no repeated trigram", 1, m, 3) for m in (0, 15, 20, 25)],
    *[(f"beam 3{f', >= {m} words' if m else ''}", 3, m, 0) for m in (0, 20, 25)],
    *[(f"beam 3{f', >= {m} words' if m else ''}, no repeated trigram", 3, m, 3) for m in (0, 20, 25)],
]
ENSEMBLE_SIZES = (1, 3, 5)
#: Neighbour counts compared on dev for the re-ranking hybrid (1 = the nearest-neighbour baseline).
RERANK_K = (1, 5, 10, 20)
MAX_WORDS = 30
TRAIN_KW: dict[str, Any] = {
    "lr": 2e-3, "batch_size": 32, "min_count": 2, "max_words": MAX_WORDS, "select": "loss", "track_bleu": False,
}  # fmt: skip


def _member_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one member (in a worker process when ``jobs > 1``) and save it; returns its summary."""
    torch.set_num_threads(1)
    path = Path(job["path"])
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return {k: saved[k] for k in ("best_epoch", "history", "seconds")} | {"path": str(path), "reused": True}
    feats = torch.load(job["features"], map_location="cpu", weights_only=True)
    dev = job["dev"]
    fit = fit_attention(
        feats[job["train"]], job["captions"], feats[dev] if dev else None, job["dev_refs"] if dev else None,
        epochs=job["epochs"], seed=job["seed"], **TRAIN_KW,
    )  # fmt: skip
    summary = {"best_epoch": fit.best_epoch, "history": fit.history, "seconds": round(fit.seconds, 1)}
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": fit.decoder.config,
        "state_dict": fit.decoder.state_dict(),
        "vocab": fit.vocab.words,
        **summary,
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return summary | {"path": str(path), "reused": False}


def _load_member(path: str) -> tuple[AttentionDecoder, CaptionVocab]:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    dec = AttentionDecoder(**saved["config"])
    dec.load_state_dict(saved["state_dict"])
    return dec.eval(), CaptionVocab(list(saved["vocab"]))


def train_members(
    jobs: list[dict[str, Any]], workers: int, log: Log = None
) -> tuple[list[AttentionDecoder], CaptionVocab, list[dict[str, Any]]]:
    """Run member ``jobs`` (``workers`` processes at a time, one torch thread each); the decoders, their
    shared vocabulary and the summaries (best epoch, history, seconds)."""
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            summaries = list(pool.map(_member_job, jobs))
    else:
        summaries = [_member_job(j) for j in jobs]
    decs, vocabs = zip(*[_load_member(s["path"]) for s in summaries], strict=True)
    if len({tuple(v.words) for v in vocabs}) != 1:
        raise InputError("members: trained on one caption set, they must share one vocabulary")
    for job, s in zip(jobs, summaries, strict=True):
        if log is not None:
            how = "reused" if s["reused"] else f"{s['seconds']:.0f} s"
            log(f"member seed {job['seed']} ({Path(s['path']).name}): epoch {s['best_epoch']} kept ({how})")
    return list(decs), vocabs[0], summaries


def _score(caps: list[list[str]], refs: Sequence[Sequence[Sequence[str]]]) -> dict[str, float]:
    return {"bleu4": round(100 * corpus_bleu(caps, refs)["bleu4"], 3), "cider_d": round(cider_d(caps, refs)[0], 4)}


def choose_on_dev(
    members: Sequence[AttentionDecoder],
    vocab: CaptionVocab,
    dev_feats: torch.Tensor,
    dev_refs: Sequence[Sequence[Sequence[str]]],
    sizes: Sequence[int] = ENSEMBLE_SIZES,
    decodings: Sequence[Decoding] = tuple(MEDPIX_DECODINGS),
    log: Log = None,
) -> tuple[int, Decoding, dict[str, dict[str, dict[str, float]]]]:
    """The (ensemble size, decoding) with the highest dev BLEU-4 (ties: smaller ensemble, earlier decoding),
    and every dev score: ``table[str(size)][label] = {"bleu4", "cider_d"}``."""
    sizes = [m for m in sizes if m <= len(members)]
    if not sizes:
        raise InputError(f"sizes: expected an ensemble size <= {len(members)} members, got none")
    table: dict[str, dict[str, dict[str, float]]] = {}
    for m in sizes:
        ens = EnsembleDecoder(list(members[:m])).eval()
        table[str(m)] = {}
        for label, b, lo, rep in decodings:
            caps = decode_captions(ens, vocab, dev_feats, beam=b, max_len=MAX_WORDS, min_len=lo, no_repeat_ngram=rep)
            table[str(m)][label] = _score(caps, dev_refs)
            if log is not None:
                log(f"dev, ensemble of {m}, {label}: BLEU-4 {table[str(m)][label]['bleu4']:.2f}")
    order = [(m, i) for m in sizes for i in range(len(decodings))]
    m, i = max(order, key=lambda p: (table[str(p[0])][decodings[p[1]][0]]["bleu4"], -p[0], -p[1]))
    return m, decodings[i], table


def _decode(dec: Decoder, vocab: CaptionVocab, feats: torch.Tensor, d: Decoding) -> list[list[str]]:
    return decode_captions(dec, vocab, feats, beam=d[1], max_len=MAX_WORDS, min_len=d[2], no_repeat_ngram=d[3])


def _recipe_key(n_train: int, epochs: int) -> str:
    text = json.dumps({"train": TRAIN_KW, "n": n_train, "epochs": epochs, "format": 1}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def run_medpix(
    data_dir: str | Path,
    out: str | Path = "results/caption",
    cache: str | Path = "out/caption",
    epochs: int = 14,
    seeds: int = 5,
    workers: int = 1,
    log: Log = None,
) -> dict[str, Any]:
    """Train, choose on dev, refit on train + dev, score on test once; write ``medpix_attention.md/json``."""
    import netloupe

    from .attention_eval import machine_line, score_systems
    from .attention_train import save_decoder
    from .data import encode_spatial, read_captions
    from .text import tokenize_caption

    if seeds < 1 or workers < 1:
        raise InputError(f"seeds, workers: expected >= 1, got {seeds} and {workers}")
    start = time.perf_counter()
    out, cache = Path(out), Path(cache)
    rows = read_captions(data_dir)
    loaded = netloupe.load_model()
    feats = encode_spatial(loaded.model, loaded.preprocess, [r.image_file for r in rows], cache, key="medpix")
    split = {n: [i for i, r in enumerate(rows) if r.split == n] for n in ("train", "dev", "test")}
    tokens = [tokenize_caption(r.caption) for r in rows]
    dev_refs = [[tokens[i]] for i in split["dev"]]
    features_path = str(cache / "spatial-medpix.pt")
    both = split["train"] + split["dev"]

    # 1. members on train, epoch by dev cross-entropy
    key = _recipe_key(len(split["train"]), epochs)
    jobs = [
        {"features": features_path, "train": split["train"], "captions": [tokens[i] for i in split["train"]],
         "dev": split["dev"], "dev_refs": dev_refs, "epochs": epochs, "seed": s,
         "path": str(cache / "medpix-members" / f"train-{key}-seed{s}.pt")}
        for s in range(seeds)
    ]  # fmt: skip
    members, vocab, summaries = train_members(jobs, workers, log)

    # 2. ensemble size and decoding on dev; the re-ranking hybrid's k on dev
    size, decoding, dev_table = choose_on_dev(members, vocab, feats[split["dev"]], dev_refs, log=log)
    ens_train = EnsembleDecoder(members[:size]).eval()
    train_caps = [tokens[i] for i in split["train"]]
    rerank_dev = {
        str(k): _score(
            rerank_neighbours(ens_train, vocab, feats[split["train"]], train_caps, feats[split["dev"]], k), dev_refs
        )
        for k in RERANK_K
    }
    k_best = max(RERANK_K, key=lambda k: (rerank_dev[str(k)]["bleu4"], -k))

    # 3. refit the chosen members on train + dev, each for its dev-chosen epoch count
    refit_epochs = [s["best_epoch"] for s in summaries[:size]]
    refit_jobs = [
        {"features": features_path, "train": both, "captions": [tokens[i] for i in both], "dev": None,
         "dev_refs": None, "epochs": e, "seed": s,
         "path": str(cache / "medpix-members" / f"traindev-{_recipe_key(len(both), e)}-seed{s}.pt")}
        for s, e in zip(range(size), refit_epochs, strict=True)
    ]  # fmt: skip
    refit, refit_vocab, refit_summaries = train_members(refit_jobs, workers, log)
    final = EnsembleDecoder(refit).eval()

    # 4. test, once
    test = feats[split["test"]]
    refs = [[tokens[i]] for i in split["test"]]
    label = decoding[0]
    chosen = f"attention LSTM, ensemble of {size}, refit on train + dev, {label}"
    both_caps = [tokens[i] for i in both]
    systems = {
        chosen: _decode(final, refit_vocab, test, decoding),
        f"attention LSTM, ensemble of {size}, train only, {label}": _decode(ens_train, vocab, test, decoding),
        f"attention LSTM, one decoder (seed 0), train only, {label}": _decode(members[0], vocab, test, decoding),
        "attention LSTM, one decoder (seed 0), train only, greedy": _decode(
            members[0], vocab, test, MEDPIX_DECODINGS[0]
        ),
        f"hybrid: the refit ensemble re-ranking the {k_best} nearest train + dev captions (k chosen on dev)":
            rerank_neighbours(final, refit_vocab, feats[both], both_caps, test, k_best),
    }  # fmt: skip
    baselines = nearest_and_commonest(feats[split["train"]], train_caps, test)
    systems["nearest-neighbour caption (train)"] = baselines["nearest-neighbour caption"]
    systems["nearest-neighbour caption (train + dev)"] = nearest_and_commonest(feats[both], both_caps, test)[
        "nearest-neighbour caption"
    ]
    systems["most frequent caption (train)"] = baselines["most frequent caption"]
    table = score_systems(systems, refs)
    decoding_spec = {"beam": decoding[1], "min_len": decoding[2], "no_repeat_ngram": decoding[3], "max_len": MAX_WORDS}
    ckpt = save_decoder(final, refit_vocab, cache / "medpix_attention.pt", table[chosen], MEDPIX_CARD,
                        decoding=decoding_spec)  # fmt: skip
    result = {
        "scores": table,
        "chosen": chosen,
        "chosen_ensemble_size": size,
        "chosen_decoding": {"label": label, **decoding_spec},
        "dev_by_ensemble_size_and_decoding": dev_table,
        "dev_by_rerank_k": rerank_dev,
        "members_train_only": [
            {"seed": j["seed"], **{k: s[k] for k in ("best_epoch", "history", "seconds")}}
            for j, s in zip(jobs, summaries, strict=True)
        ],
        "members_refit": [
            {"seed": j["seed"], "epochs": j["epochs"], "seconds": s["seconds"]}
            for j, s in zip(refit_jobs, refit_summaries, strict=True)
        ],
        "epochs_max": epochs,
        "vocab_size_train": len(vocab),
        "vocab_size_refit": len(refit_vocab),
        "checkpoint": str(ckpt),
        "examples": {n: [" ".join(c) for c in caps[:5]] for n, caps in systems.items()},
        "machine": machine_line(),
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    atomic_write_json(out / "medpix_attention.json", result)
    atomic_write_text(out / "medpix_attention.md", _markdown(result, seeds, workers))
    return result


def _markdown(result: dict[str, Any], seeds: int, workers: int) -> str:
    from .attention_eval import _score_md

    size, label = result["chosen_ensemble_size"], result["chosen_decoding"]["label"]
    dev = result["dev_by_ensemble_size_and_decoding"]
    sizes = list(dev)
    members = result["members_train_only"]
    lines = [
        "# Attention captioner on MedPix 2.0 (test split: 200 images, 69 cases, case-disjoint)",
        "",
        f"Measured {result['machine']}; wall time {result['wall_seconds']:.0f} s ({workers} training process(es) "
        f"at a time). Command: `PYTHONPATH=src python -m netloupe caption-attention medpix --seeds {seeds} "
        f"--workers {workers}`.",
        f"Chosen on dev (never on test): an ensemble of the first **{size}** decoders (seeds 0-{size - 1}), decoded "
        f"**{label}**; then refit on train + dev (each seed for the epoch count its dev run kept: "
        + ", ".join(str(m["epochs"]) for m in result["members_refit"])
        + "). One reference per image (the author's caption). The test split was decoded once, with the chosen "
        "system; the other rows are for reading, not choosing.",
        "",
        *_score_md(result["scores"], result["chosen"], "chosen on dev"),
        "",
        "## The choices, on dev (197 images, 67 cases)",
        "",
        f"Members trained on train (810 images), each keeping the epoch of lowest dev cross-entropy (at most "
        f"{result['epochs_max']}): "
        + ", ".join(
            f"seed {m['seed']} epoch {m['best_epoch']} (dev loss {min(h['dev_loss'] for h in m['history']):.3f})"
            for m in members
        )
        + ".",
        "",
        "Dev BLEU-4 (CIDEr-D) by ensemble size and decoding; the highest BLEU-4 is chosen (ties: smaller "
        "ensemble, then the decoding listed first):",
        "",
        "| decoding | " + " | ".join(f"ensemble of {m}" for m in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for d in MEDPIX_DECODINGS:
        cells = []
        for m in sizes:
            s = dev[m][d[0]]
            txt = f"{s['bleu4']:.2f} ({s['cider_d']:.3f})"
            cells.append(f"**{txt}**" if (int(m), d[0]) == (size, label) else txt)
        lines.append(f"| {d[0]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Re-ranking hybrid (the captions of the k nearest training images re-ranked by the train-only "
        "ensemble's mean log-probability per word), dev BLEU-4 (CIDEr-D) by k: "
        + ", ".join(f"k={k} {v['bleu4']:.2f} ({v['cider_d']:.3f})" for k, v in result["dev_by_rerank_k"].items())
        + " (k=1 is the nearest-neighbour baseline).",
        "",
    ]
    return "\n".join(lines)
