"""Train both video models on moving digits, score them and their maps, write results/video/.

Run by ``netloupe video train`` (fixed seed). Training clips use digit images 0-1299, test clips (another
seed) digit images 1300-1796, so no test digit is seen in training.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..io.atomic import atomic_write, atomic_write_json, atomic_write_text
from .data import CLASSES, VideoSet, make_video_set
from .explain import conv3d_gradcam, frame_attribution, frame_gradcam, score_maps, temporal_scores
from .models import CNNLSTM, Conv3DNet

__all__ = [
    "evaluate_models",
    "load_video_model",
    "run_video_experiment",
    "save_video_model",
    "train_video_model",
]


def _tensors(data: VideoSet) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.from_numpy(data.videos)[:, :, None], torch.from_numpy(data.labels), torch.from_numpy(data.moving)


def train_video_model(
    model: nn.Module, data: VideoSet, epochs: int, seed: int = 0, batch: int = 32, log: Callable[[str], None] = print
) -> nn.Module:
    """Adam (lr 2e-3), cross-entropy on the clip class (+ the per-frame label for the CNN + LSTM)."""
    torch.manual_seed(seed)
    x, y, moving = _tensors(data)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    ce = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        start, total, correct = time.perf_counter(), 0.0, 0
        for idx in torch.randperm(len(y), generator=gen).split(batch):
            if isinstance(model, CNNLSTM):
                logits, frame_logits, _ = model.forward_all(x[idx])
                loss = ce(logits, y[idx]) + ce(frame_logits.flatten(0, 1), moving[idx].flatten().long())
            else:
                logits = model(x[idx].permute(0, 2, 1, 3, 4))
                loss = ce(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y[idx]).sum())
        log(
            f"{type(model).__name__} epoch {epoch + 1}: loss {total / len(y):.4f}, train accuracy "
            f"{correct / len(y):.3f} ({time.perf_counter() - start:.0f} s)"
        )
    return model.eval()


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(model, CNNLSTM):
        logits, frames, _ = model.forward_all(x)
        return logits.argmax(1), frames.argmax(-1).bool()
    return model(x.permute(0, 2, 1, 3, 4)).argmax(1), None


def evaluate_models(
    models: dict[str, nn.Module], test: VideoSet, batch: int = 60
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Accuracy, per-frame accuracy (CNN + LSTM) and map scores on ``test``; returns scores and the maps."""
    x, y, moving = _tensors(test)
    scores: dict[str, Any] = {}
    all_maps: dict[str, np.ndarray] = {}
    for name, model in models.items():
        preds, frames, maps, temporal = [], [], [], []
        for idx in torch.arange(len(y)).split(batch):
            p, f = _predict(model, x[idx])
            preds.append(p)
            if f is not None:
                frames.append(f)
            explain = frame_gradcam if isinstance(model, CNNLSTM) else conv3d_gradcam
            maps.append(explain(model, x[idx], y[idx]).numpy())  # type: ignore[arg-type]
            temporal.append(frame_attribution(model, x[idx], y[idx]).numpy())
        pred = torch.cat(preds)
        entry: dict[str, Any] = {
            "accuracy": float((pred == y).float().mean()),
            "per_class_accuracy": {c: float((pred[y == k] == k).float().mean()) for k, c in enumerate(CLASSES)},
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        if frames:
            entry["per_frame_accuracy"] = float((torch.cat(frames) == moving).float().mean())
            entry["per_frame_majority_baseline"] = float(max(moving.float().mean(), 1 - moving.float().mean()))
        all_maps[name] = np.concatenate(maps)
        entry["gradcam"] = score_maps(all_maps[name], test)
        entry["gradient_x_input_per_frame"] = temporal_scores(np.concatenate(temporal), test.moving)
        scores[name] = entry
    return scores, all_maps


def run_video_experiment(
    out: Path,
    seed: int = 0,
    n_train: int = 1200,
    n_test: int = 480,
    epochs: int = 8,
    log: Callable[[str], None] = print,
    ship: Path | None = None,
) -> dict[str, Any]:
    """Train both models, score them on an untouched test set and write ``out/scores.{json,md}``, ``out/strip.png``,
    ``out/maps_examples.npz``."""
    train = make_video_set(n_train, seed, frames=16, digits_slice=slice(0, 1300))
    test = make_video_set(n_test, seed + 1000, frames=16, digits_slice=slice(1300, None))
    timings: dict[str, float] = {}
    models: dict[str, nn.Module] = {}
    for name, build in [("cnn_lstm", CNNLSTM), ("conv3d", Conv3DNet)]:
        torch.manual_seed(seed)
        model = build(len(CLASSES))
        start = time.perf_counter()
        models[name] = train_video_model(model, train, epochs, seed, log=log)
        timings[name] = round(time.perf_counter() - start, 1)
    if ship is not None:
        for name, model in models.items():
            save_video_model(model, ship / f"video_{name}.pt", seed)
            log(f"weights: {ship / f'video_{name}.pt'}")
    scores, maps = evaluate_models(models, test)
    for name in scores:
        scores[name]["train_seconds"] = timings[name]
    result: dict[str, Any] = {
        "task": "moving digits: 6 motion classes, 16 frames of 32x32, a static distractor digit and noise",
        "classes": list(CLASSES),
        "seed": seed,
        "epochs": epochs,
        "n_train": n_train,
        "n_test": n_test,
        "models": scores,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores (shared VM), torch {torch.__version__}, 1 thread",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "scores.json", result)
    atomic_write_text(out / "scores.md", _markdown(result))
    examples = [int(np.flatnonzero(test.labels == k)[0]) for k in (0, 4)]
    arrays = {f"{n}_gradcam": m[examples].astype(np.float16) for n, m in maps.items()}
    arrays |= {"videos": test.videos[examples].astype(np.float16), "boxes": test.boxes[examples]}
    arrays |= {"moving": test.moving[examples], "labels": test.labels[examples]}
    atomic_write(out / "maps_examples.npz", lambda p: _savez(p, arrays))
    from .views import plot_strip

    fig = plot_strip(test.videos[examples], maps, examples, test, [CLASSES[test.labels[i]] for i in examples])
    atomic_write(out / "strip.png", lambda p: fig.savefig(p, dpi=90, format="png"))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return result


def save_video_model(model: nn.Module, path: Path, seed: int) -> Path:
    """A plain dict for ``torch.load(weights_only=True)``: kind, config, float16 state dict, classes."""
    kind = "cnn_lstm" if isinstance(model, CNNLSTM) else "conv3d"
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    payload: dict[str, Any] = {"format": "netloupe-video/1", "kind": kind, "config": model.config}
    payload["state_dict"] = state
    payload |= {"classes": list(CLASSES), "seed": seed}
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda p: torch.save(payload, p))


def load_video_model(path: str | Path) -> nn.Module:
    """Load a model written by :func:`save_video_model`."""
    from ..errors import ModelLoadError
    from .models import build_video_model

    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(f"model: {path} is not a readable video checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != "netloupe-video/1":
        raise ModelLoadError(f"model: {path} is not a netloupe-video/1 checkpoint")
    model = build_video_model(payload["kind"], **payload["config"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    return model.eval()


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as fh:  # a file object: numpy would append .npz to the temporary name
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]


def _markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Action recognition from video (moving digits), explained over space and time",
        "",
        f"Command: `netloupe video train` (seed {r['seed']}, {r['epochs']} epochs per model, {r['n_train']} "
        f"training clips, {r['n_test']} test clips with other digit images and another seed).",
        f"Machine: {r['machine']}. Date: {r['date']}.",
        "",
        f"Task: {r['task']}. Classes: {', '.join(r['classes'])}. The moving digit enters at a random frame, "
        "is seen at 9 positions and leaves; the frames with it are the ones that decide the class.",
        "",
        "| model | params | test accuracy | per-frame accuracy (moving digit in view?) | train s |",
        "|---|---|---|---|---|",
    ]
    for name, s in r["models"].items():
        pf = "-"
        if "per_frame_accuracy" in s:
            pf = f"{s['per_frame_accuracy']:.3f} (majority {s['per_frame_majority_baseline']:.3f})"
        lines.append(f"| {name} | {s['parameters']} | {s['accuracy']:.3f} | {pf} | {s['train_seconds']:.0f} |")
    lines += [
        "",
        "## Grad-CAM over space and time against the known answer (true class explained)",
        "",
        "Pointing game per frame with the moving digit in view: "
        "the map's maximum within 2 px of the moving digit's box (chance = box area / "
        "frame area); on the distractor: maximum inside the static digit's box. Temporal share: fraction of "
        "the clip's map mass on the moving frames (chance = fraction of moving frames); peak frame: the frame "
        "with the most mass is a moving one.",
        "",
        "| model | pointing (moving frames) | on distractor | chance | temporal share | chance | peak frame moving |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in r["models"].items():
        g = s["gradcam"]
        lines.append(
            f"| {name} | {g['pointing_moving_frames']:.3f} | {g['pointing_on_distractor']:.3f} | "
            f"{g['pointing_chance']:.3f} | {g['temporal_share_moving']:.3f} | "
            f"{g['temporal_share_chance']:.3f} | {g['peak_frame_is_moving']:.3f} |"
        )
    lines += [
        "",
        "Temporal attribution by |gradient x input| summed per frame (true class):",
        "",
        "| model | share on moving frames | chance | peak frame moving |",
        "|---|---|---|---|",
    ]
    for name, s in r["models"].items():
        g = s["gradient_x_input_per_frame"]
        lines.append(
            f"| {name} | {g['temporal_share_moving']:.3f} | {g['temporal_share_chance']:.3f} | "
            f"{g['peak_frame_is_moving']:.3f} |"
        )
    lines += ["", "Per-class test accuracy:", ""]
    for name, s in r["models"].items():
        lines.append(f"- {name}: " + ", ".join(f"{c} {v:.2f}" for c, v in s["per_class_accuracy"].items()))
    lines += ["", "Figure: `strip.png`; arrays: `maps_examples.npz` (videos, maps, boxes, moving flags).", ""]
    return "\n".join(lines)
