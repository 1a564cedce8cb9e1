"""``netloupe explain IMAGE...``: overlays, arrays, top-k figures and a manifest for each image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer

from ..models.zoo import DEFAULT_MODEL, LoadedModel
from ._console import console, progress
from ._options import load_cli_model, parse_device, parse_methods

__all__ = ["register"]


def explain_command(
    images: Annotated[
        list[Path], typer.Argument(help="Image files (PNG, JPEG, TIFF, BMP, .npy, DICOM, NIfTI).", show_default=False)
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="Zoo name or model file.")] = DEFAULT_MODEL,
    method: Annotated[str, typer.Option("--method", help="Comma-separated CAM methods.")] = "gradcam",
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Explain the k most probable classes.")] = 3,
    target: Annotated[str | None, typer.Option("--target", help="Explain this class (index or name).")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="Target layer name (default: automatic).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("netloupe-out"),
    arch: Annotated[str | None, typer.Option(help="torchvision/timm architecture for --checkpoint.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="State-dict file for --arch.")] = None,
    trust_pickle: Annotated[bool, typer.Option(help="Allow loading a full pickled model (runs code).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1, help="Images per pass.")] = 8,
    window: Annotated[
        str | None, typer.Option(help="DICOM/NIfTI window: lung, mediastinum, bone, brain, soft-tissue or C,W.")
    ] = None,
    frame: Annotated[int | None, typer.Option(help="Multi-frame DICOM: the frame to explain.")] = None,
    volume: Annotated[int | None, typer.Option(help="4-D NIfTI: the volume to explain.")] = None,
    slice_axis: Annotated[
        int | None, typer.Option(help="3-D input, 2-D model: slice perpendicular to this axis.")
    ] = None,
    slice_index: Annotated[int | None, typer.Option(help="3-D input: slice index (default: middle).")] = None,
) -> None:
    """Explain why the model predicts what it predicts, for each IMAGE."""
    from ..io.medical import is_medical_path
    from ..pipeline import explain_loaded, load_images

    methods = parse_methods(method)
    dev = parse_device(device)
    medical = [p for p in images if is_medical_path(p)]
    images = [p for p in images if not is_medical_path(p)]
    inputs = load_images(images)  # every file is checked before anything runs or is written
    loaded = load_cli_model(model, arch, checkpoint, trust_pickle)
    spec: int | str | None = None
    if target is not None:
        spec = int(target) if target.lstrip("-").isdigit() else target
    _check_before_running(loaded, layer, spec)
    if medical:  # DICOM / NIfTI: maps written back in each file's geometry (netloupe.medical.explain_files)
        from .medical import explain_medical_cli

        explain_medical_cli(
            medical, loaded, methods, out, spec, layer, window, frame, volume, slice_axis, slice_index, dev
        )
        if not images:
            return
    with progress() as bar:
        task = bar.add_task("explaining", total=len(inputs))
        run = explain_loaded(
            inputs,
            loaded,
            methods,
            top_k=top_k,
            target=spec,
            layer=layer,
            device=dev,
            batch_size=batch_size,
            on_batch=lambda n: bar.advance(task, n),
        )
        save = bar.add_task("writing", total=1)
        manifest = run.save(out)
        bar.advance(save)
    for res in run.results:
        preds = " / ".join(f"{lab} {p:.2f}" for lab, p in zip(res.labels, res.probabilities, strict=True))
        console.print(f"[bold]{res.id}[/]: {preds}", highlight=False)
    console.print(f"wrote {manifest}", highlight=False)


def _check_before_running(loaded: LoadedModel, layer: str | None, target: int | str | None) -> None:
    """Fail on a bad layer or class before any work starts (and before a progress bar is drawn)."""
    from ..layers import resolve_layer
    from ..targets import resolve_targets

    if layer is not None:
        resolve_layer(loaded.model, layer)
    if target is not None:
        n = len(loaded.class_names)
        resolve_targets(target, torch.zeros(1, 1 if n == 2 and _single_logit(loaded) else n), loaded.class_names)


def _single_logit(loaded: LoadedModel) -> bool:
    last = [m for m in loaded.model.modules() if isinstance(m, torch.nn.Linear)]
    return bool(last) and last[-1].out_features == 1


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_command)
