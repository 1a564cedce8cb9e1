"""``netloupe audit``: share of map energy inside given regions, per class, with a verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._console import console, fail

__all__ = ["register"]


def audit_cmd(
    dataset: str = typer.Argument(
        ...,
        help="pneumoniamnist / breastmnist (official split), a MedMNIST-style .npz, or a folder of class sub-folders",
    ),
    region: list[str] = typer.Option(
        ...,
        "--region",
        "-r",
        help="borders:W | corners:S | corner:tr:S | box:x0,y0,x1,y1 | mask:PATH (model-input pixels); repeatable",
    ),
    model: str = typer.Option("pneumonia-cnn", help="zoo name or model file"),
    weights: Optional[Path] = typer.Option(None, help="a state dict to load into the model (same architecture)"),
    split: str = typer.Option("test", help="split of a MedMNIST dataset"),
    method: str = typer.Option("gradcam", help="CAM method"),
    layer: Optional[str] = typer.Option(None, help="target layer (default: the model's)"),
    explain_label: bool = typer.Option(False, help="explain the true class instead of the prediction"),
    marker: Optional[str] = typer.Option(None, help="stamp the synthetic tag in this corner on every image first"),
    limit: Optional[int] = typer.Option(None, help="audit only the first N images"),
    out: Path = typer.Option(Path("netloupe-audit"), help="output folder (audit.json, audit.md, examples.png)"),
) -> None:
    """Audit a model for shortcut learning: how much of its evidence lies in regions that should not matter."""
    import torch

    from ..medical.audit import parse_region, run_audit
    from ..medical.datasets import load_audit_images
    from ..models.zoo import load_model

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    loaded = load_model(model)
    if weights is not None:
        from ..models.medical import load_weights_into

        load_weights_into(loaded, weights)
    images, labels, class_names = load_audit_images(dataset, loaded, split=split, marker=marker, limit=limit)
    if len(images) == 0:
        fail(f"dataset: {dataset} holds no images")
    for k, spec in enumerate(region):
        mask, name = parse_region(spec, images.shape[-2:])
        result = run_audit(
            loaded.model,
            images,
            labels,
            mask,
            class_names,
            region_name=name,
            method=method,
            layer=layer or loaded.target_layer,
            explain_label=explain_label,
        )
        folder = out if len(region) == 1 else out / f"region{k}"
        result.save(folder, denormalize=lambda x: loaded.preprocess.denormalize(x))
        console.print(result.markdown(), markup=False, soft_wrap=True)
        console.print(f"verdict: {result.overall['verdict']}  -> {folder}")


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command."""
    app.command("audit")(audit_cmd)
