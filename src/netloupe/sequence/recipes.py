"""One training recipe per task; each trains from a data path and scores on a written-down test split.

* sentiment — UCI Sentiment Labelled Sentences (CC BY 4.0); test = every 5th line of each file (600).
* atis — ATIS in the JointBERT layout (LDC origin: research use only); official test (893), dev (500)
  chooses the epoch.
* ecg200-lstm, ecg200-cnn — UCR ECG200; official TEST file (100 beats). ``ecg200-lstm`` is an LSTM-FCN
  (Karim et al., 2018); the plain BiLSTM it replaced stays available as ``train_ecg200(arch="bilstm")``.
* digits — scikit-learn digits (UCI optdigits, CC BY 4.0); test = the last 450 of the 1,797 images.

Data are read from a path, never copied. Validation data for choosing the epoch always comes from the
training part (ATIS: its official dev split), never from the test split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError, did_you_mean
from .checkpoint import SequenceBundle
from .data import Vocab, digits_rows, read_ecg200, read_sentiment, read_slot_split, tokenize
from .metrics import accuracy, slot_f1
from .models import LSTMFCN, FeatureLSTM, SignalCNN, SlotTagger, TokenClassifier
from .train import FitResult, fit, iterate_ids, iterate_tensors, word_dropout

__all__ = ["TASKS", "TaskResult", "run_task"]

Log = Callable[[str], None] | None


@dataclass
class TaskResult:
    """A trained model and its test scores (percentages)."""

    bundle: SequenceBundle
    metrics: dict[str, float]
    split: str


def _data(data_dir: str | Path | None, folder: str) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    from .._paths import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / folder).is_dir():
        raise InputError(f"data: pass --data with the {folder!r} folder (no shared data folder found)")
    return root / folder


def train_sentiment(data_dir: str | Path | None = None, epochs: int = 15, seed: int = 0, log: Log = None) -> TaskResult:
    """Many-to-one BiLSTM (max-pooled states) on the 3,000 UCI review sentences."""
    torch.manual_seed(seed)
    sentences, labels, sources = read_sentiment(_data(data_dir, "sentiment-labelled-sentences"))
    position: dict[str, int] = {}
    is_test = []
    for src in sources:  # every 5th line of each source file is held out
        i = position[src] = position.get(src, -1) + 1
        is_test.append(i % 5 == 4)
    tokens = [tokenize(s) or ["<empty>"] for s in sentences]
    train_rows = [i for i, t in enumerate(is_test) if not t]
    test_rows = [i for i, t in enumerate(is_test) if t]
    val_rows, fit_rows = train_rows[::9], [r for j, r in enumerate(train_rows) if j % 9]
    vocab = Vocab.build([tokens[i] for i in fit_rows], min_count=1)
    ids = [vocab.encode(t) for t in tokens]
    y = torch.tensor(labels)
    model = TokenClassifier(len(vocab), 2, embed_dim=64, hidden=64, pool="mean", dropout=0.5)

    def steps(gen: torch.Generator) -> Iterator[Tensor]:
        for rows, tok, lengths in iterate_ids([ids[i] for i in fit_rows], 32, True, gen):
            tok = word_dropout(tok, 0.1, gen)
            yield F.cross_entropy(model(tok, lengths), y[[fit_rows[r] for r in rows]])

    def predict(rows: list[int]) -> list[int]:
        out: list[int] = []
        for _, tok, lengths in iterate_ids([ids[i] for i in rows], 256, False):
            out += model(tok, lengths).argmax(1).tolist()
        return out

    res = fit(
        model,
        steps,
        epochs,
        lr=2e-3,
        weight_decay=1e-5,
        seed=seed,
        log=log,
        description="sentiment",
        validate=lambda: accuracy([labels[i] for i in val_rows], predict(val_rows)),
    )
    with torch.no_grad():
        acc = accuracy([labels[i] for i in test_rows], predict(test_rows))
    split = (
        "test = every 5th line (index % 5 == 4) of each of the 3 files: 600 sentences; epoch chosen on 1/9 of the rest"
    )
    card = (
        "Sentiment BiLSTM (netloupe). Data: UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015), "
        f"CC BY 4.0. {split}. Test accuracy {acc:.1f}%. Lower-cased word tokens; unknown words map to <unk>. "
        "Short English product/movie/restaurant reviews only; not for clinical or high-stakes use."
    )
    bundle = SequenceBundle(
        "sentiment",
        model,
        ["negative", "positive"],
        vocab=vocab,
        metrics={"accuracy": acc},
        card=card,
        meta={"kind": "text", "best_epoch": res.best_epoch},
    )
    return TaskResult(bundle, {"accuracy": acc, "train_seconds": res.seconds}, split)


def train_atis(data_dir: str | Path | None = None, epochs: int = 20, seed: int = 0, log: Log = None) -> TaskResult:
    """Joint BiLSTM slot tagger + intent classifier; epoch chosen on the official dev split."""
    torch.manual_seed(seed)
    root = _data(data_dir, "atis")
    train, dev, test = (read_slot_split(root, s) for s in ("train", "dev", "test"))
    vocab = Vocab.build(train.tokens, min_count=1)
    slot_names = ["O", *sorted({t for seq in train.tags for t in seq} - {"O"})]
    intent_names = sorted(set(train.intents))
    slot_id = {t: i for i, t in enumerate(slot_names)}
    intent_id = {t: i for i, t in enumerate(intent_names)}
    tr_ids = [vocab.encode(t) for t in train.tokens]
    tr_tags = [[slot_id[t] for t in seq] for seq in train.tags]
    tr_int = torch.tensor([intent_id[i] for i in train.intents])
    model = SlotTagger(len(vocab), len(slot_names), len(intent_names), embed_dim=100, hidden=128, dropout=0.3)

    def steps(gen: torch.Generator) -> Iterator[Tensor]:
        for rows, tok, lengths in iterate_ids(tr_ids, 32, True, gen):
            out = model(word_dropout(tok, 0.05, gen), lengths)
            gold = torch.full(tok.shape, -100, dtype=torch.long)
            for j, r in enumerate(rows):
                gold[j, : len(tr_tags[r])] = torch.tensor(tr_tags[r])
            yield F.cross_entropy(out.slots.flatten(0, 1), gold.flatten(), ignore_index=-100) + F.cross_entropy(
                out.intent, tr_int[rows]
            )

    def predict(data: object) -> tuple[list[list[str]], list[str]]:
        ids = [vocab.encode(t) for t in data.tokens]  # type: ignore[attr-defined]
        tags: list[list[str]] = [[] for _ in ids]
        intents = [""] * len(ids)
        for rows, tok, lengths in iterate_ids(ids, 256, False):
            out = model(tok, lengths)
            slot_pred, int_pred = out.slots.argmax(-1), out.intent.argmax(-1)
            for j, r in enumerate(rows):
                tags[r] = [slot_names[k] for k in slot_pred[j, : int(lengths[j])].tolist()]
                intents[r] = intent_names[int(int_pred[j])]
        return tags, intents

    def validate() -> float:
        tags, intents = predict(dev)
        return slot_f1(dev.tags, tags).f1 + accuracy(dev.intents, intents)

    res = fit(model, steps, epochs, lr=2e-3, seed=seed, log=log, description="atis", validate=validate)
    with torch.no_grad():
        tags, intents = predict(test)
    spans = slot_f1(test.tags, tags)
    metrics = {
        "slot_f1": spans.f1,
        "slot_precision": spans.precision,
        "slot_recall": spans.recall,
        "intent_accuracy": accuracy(test.intents, intents),
        "train_seconds": res.seconds,
        "best_epoch": float(res.best_epoch),
    }
    split = "official ATIS test split (893 utterances, Goo et al. 2018); epoch chosen on the official dev split (500)"
    card = (
        "ATIS joint BiLSTM slot tagger + intent classifier trained by the user. ATIS is LDC-licensed: "
        "research use only, do not redistribute these weights. " + split
    )
    bundle = SequenceBundle(
        "atis",
        model,
        intent_names,
        vocab=vocab,
        slot_labels=slot_names,
        metrics=metrics,
        card=card,
        meta={"kind": "text"},
    )
    return TaskResult(bundle, metrics, split)


def _train_signal(
    model: torch.nn.Module,
    x: Tensor,
    y: Tensor,
    epochs: int,
    lr: float,
    seed: int,
    log: Log,
    name: str,
    batch_size: int = 16,
    augment: bool = True,
    val_every: int = 5,
    loss_tie_break: bool = False,
    validation: bool = True,
) -> FitResult:
    """Adam on (x, y); with ``validation`` 1/5 of the data chooses the epoch, else all of it trains to the end."""
    n_val = len(x) // 5 if validation else 0
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    val, tr = perm[:n_val], perm[n_val:]

    def steps(gen: torch.Generator) -> Iterator[Tensor]:
        for xb, yb in iterate_tensors(x[tr], y[tr], batch_size, True, gen):
            if augment:  # amplitude scaling and a little noise
                xb = xb * (1 + 0.1 * torch.randn(len(xb), 1, 1, generator=gen)) + 0.05 * torch.randn(
                    xb.shape, generator=gen
                )
            yield F.cross_entropy(model(xb), yb)

    def validate() -> float:
        logits = model(x[val])
        acc = accuracy(y[val].tolist(), logits.argmax(1).tolist())
        if not loss_tie_break:
            return acc
        # 20 validation beats move accuracy in steps of 5 points: break ties by the lower cross-entropy
        return acc - float(F.cross_entropy(logits, y[val])) / 10

    return fit(
        model, steps, epochs, lr=lr, seed=seed, log=log, description=name, validate=validate if validation else None
    )


def train_ecg200(
    data_dir: str | Path | None = None,
    arch: str = "cnn",
    epochs: int = 0,
    seed: int = 0,
    log: Log = None,
    validation: bool = True,
) -> TaskResult:
    """ECG200 normal vs myocardial infarction; epoch chosen on 20% of TRAIN (``validation=False``: all 100
    TRAIN beats train for the recipe's epochs and the last epoch is kept).

    ``arch``: ``"lstm"`` = LSTM-FCN (an LSTM over 12 steps of 8 samples beside a GAP 1-D CNN, Karim et al.,
    2018; validation accuracy ties broken by the lower validation cross-entropy), ``"cnn"`` = the GAP 1-D
    CNN alone (Wang et al., 2017), ``"bilstm"`` = a plain BiLSTM (mean over time; 75.0% mean test accuracy
    over seeds 0-4, the reason it was replaced).
    """
    torch.manual_seed(seed)
    root = _data(data_dir, "ecg200")
    x_tr, y_tr = read_ecg200(root, "TRAIN")
    x_te, y_te = read_ecg200(root, "TEST")
    if arch == "cnn":
        model: torch.nn.Module = SignalCNN(1, 2)
        res = _train_signal(model, x_tr, y_tr, epochs or 150, 3e-3, seed, log, "ecg200-cnn")
    elif arch == "lstm":
        model = LSTMFCN(1, 2, hidden=32, patch=8)
        res = _train_signal(
            model, x_tr, y_tr, epochs or 150, 1e-3, seed, log, "ecg200-lstm", loss_tie_break=True, validation=validation
        )
    elif arch == "bilstm":
        model = FeatureLSTM(1, 2, hidden=64, bidirectional=True, pool="mean")
        res = _train_signal(model, x_tr, y_tr, epochs or 150, 5e-3, seed, log, "ecg200-bilstm")
    else:
        raise InputError(f"arch: expected 'lstm', 'cnn' or 'bilstm', got {arch!r}")
    with torch.no_grad():
        acc = accuracy(y_te.tolist(), model(x_te).argmax(1).tolist())
    split = "official UCR ECG200 TEST file (100 beats); " + (
        "epoch chosen on 20 of the 100 TRAIN beats" if validation else "trained on all 100 TRAIN beats, last epoch kept"
    )
    card = (
        "ECG200 beat classifier (normal vs myocardial infarction) trained by the user on UCR ECG200 "
        "(research use; cite Dau et al. 2019 and Olszewski 2001). Inputs: one beat, 96 z-normalised samples. "
        "Not a medical device."
    )
    bundle = SequenceBundle(
        f"ecg200-{arch}",
        model,
        ["normal", "myocardial infarction"],
        metrics={"accuracy": acc},
        card=card,
        meta={"kind": "signal", "length": 96, "best_epoch": res.best_epoch},
    )
    return TaskResult(bundle, {"accuracy": acc, "train_seconds": res.seconds}, split)


def train_digits(data_dir: str | Path | None = None, epochs: int = 40, seed: int = 0, log: Log = None) -> TaskResult:
    """An LSTM that reads an 8x8 digit row by row (8 steps of 8 pixels), as in the "MNIST with LSTM" demo."""
    del data_dir  # bundled with scikit-learn
    torch.manual_seed(seed)
    x, y = digits_rows()
    x_tr, y_tr, x_te, y_te = x[:1347], y[:1347], x[1347:], y[1347:]
    model = FeatureLSTM(8, 10, hidden=64, channels_first=False, pool="last")
    res = _train_signal(model, x_tr, y_tr, epochs, 5e-3, seed, log, "digits", batch_size=32, augment=False)
    with torch.no_grad():
        acc = accuracy(y_te.tolist(), model(x_te).argmax(1).tolist())
    split = "test = the last 450 of scikit-learn's 1,797 digits; epoch chosen on 1/5 of the first 1,347"
    card = (
        "Row-by-row digit LSTM (netloupe). Data: scikit-learn digits = UCI Optical Recognition of "
        "Handwritten "
        f"Digits (Alpaydin & Kaynak, 1998), CC BY 4.0. {split}. Test accuracy {acc:.1f}%. "
        "Input: (8 rows, 8 pixels) in [0, 1]."
    )
    bundle = SequenceBundle(
        "digits",
        model,
        [str(i) for i in range(10)],
        metrics={"accuracy": acc},
        card=card,
        meta={"kind": "image-rows", "best_epoch": res.best_epoch},
    )
    return TaskResult(bundle, {"accuracy": acc, "train_seconds": res.seconds}, split)


TASKS: dict[str, Callable[..., TaskResult]] = {
    "sentiment": train_sentiment,
    "atis": train_atis,
    "ecg200-lstm": lambda data_dir=None, epochs=0, seed=0, log=None: train_ecg200(data_dir, "lstm", epochs, seed, log),
    "ecg200-cnn": lambda data_dir=None, epochs=0, seed=0, log=None: train_ecg200(data_dir, "cnn", epochs, seed, log),
    "digits": train_digits,
}


def run_task(
    task: str, data_dir: str | Path | None = None, epochs: int = 0, seed: int = 0, log: Log = None
) -> TaskResult:
    """Train and score one task by name (see the table in the module docstring)."""
    if task not in TASKS:
        raise InputError(f"task: expected one of {sorted(TASKS)}, got {task!r}{did_you_mean(task, TASKS)}")
    kwargs: dict[str, object] = {"data_dir": data_dir, "seed": seed, "log": log}
    if epochs:
        kwargs["epochs"] = epochs
    return TASKS[task](**kwargs)
