"""Training loops shared by the task recipes: mini-batches, Adam, best-on-validation, progress bar."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .data import pad_batch
from .models import PAD_ID, UNK_ID

__all__ = ["FitResult", "fit", "iterate_ids", "iterate_tensors", "word_dropout"]


@dataclass
class FitResult:
    """What :func:`fit` did: the epoch whose state was kept, its validation score, wall time, history."""

    best_epoch: int
    best_score: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def iterate_tensors(
    x: Tensor, y: Tensor, batch_size: int, shuffle: bool, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Mini-batches of aligned tensors."""
    order = torch.randperm(len(x), generator=generator) if shuffle else torch.arange(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def iterate_ids(
    ids: Sequence[Sequence[int]],
    batch_size: int,
    shuffle: bool,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[list[int], Tensor, Tensor]]:
    """Mini-batches of padded id sequences: (row indices, ids (B, T), lengths (B,))."""
    order = torch.randperm(len(ids), generator=generator).tolist() if shuffle else list(range(len(ids)))
    for start in range(0, len(ids), batch_size):
        rows = order[start : start + batch_size]
        tokens, lengths = pad_batch([ids[r] for r in rows])
        yield rows, tokens, lengths


def word_dropout(tokens: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Replace real tokens by ``<unk>`` with probability ``p`` (teaches what to do with OOV words)."""
    if p <= 0:
        return tokens
    drop = (torch.rand(tokens.shape, generator=generator) < p) & (tokens != PAD_ID)
    return tokens.masked_fill(drop, UNK_ID)


def fit(
    model: nn.Module,
    train_step: Callable[[torch.Generator], Iterator[Tensor]],
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    validate: Callable[[], float] | None = None,
    log: Callable[[str], None] | None = None,
    description: str = "training",
    seed: int = 0,
) -> FitResult:
    """Train ``model`` with Adam; keep the state with the best ``validate()`` score (else the last).

    Args:
        train_step: given a generator, yields one loss tensor per mini-batch of one epoch.
        validate: returns a score to maximise on held-out *training* data (never the test split).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_state: dict[str, Any] | None = None
    best_score, best_epoch, history = float("-inf"), epochs, []
    start = time.perf_counter()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    )
    with Progress(*columns, transient=True, disable=log is None) as bar:
        task = bar.add_task(description, total=epochs, note="")
        for epoch in range(1, epochs + 1):
            model.train()
            total, count = 0.0, 0
            for loss in train_step(gen):
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                total, count = total + float(loss.detach()), count + 1
            model.eval()
            row = {"epoch": float(epoch), "loss": total / max(count, 1)}
            if validate is not None:
                with torch.no_grad():
                    row["val"] = score = float(validate())
                if score > best_score:
                    best_score, best_epoch = score, epoch
                    best_state = copy.deepcopy(model.state_dict())
            history.append(row)
            bar.update(
                task,
                advance=1,
                note=f"loss {row['loss']:.3f}" + (f" val {row['val']:.2f}" if "val" in row else ""),
            )
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_score = float("nan")
    model.eval()
    if log is not None:
        log(
            f"{description}: kept epoch {best_epoch}/{epochs} (validation {best_score:.2f}) "
            f"in {time.perf_counter() - start:.1f} s"
        )
    return FitResult(best_epoch, best_score, time.perf_counter() - start, history)
