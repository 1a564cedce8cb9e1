"""``netloupe medical``: train the project's medical models and run the shortcut experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._console import console

__all__ = ["register"]

medical_app = typer.Typer(
    help="The project's medical models: training and the shortcut (bias) experiment.", no_args_is_help=True
)


@medical_app.command("train")
def train_cmd(
    dataset: str = typer.Argument(..., help="pneumoniamnist or breastmnist (official MedMNIST v2 split)"),
    out: Path = typer.Option(Path("src/netloupe/models/data"), help="folder for <stem>.pt and <stem>.json"),
    stem: Optional[str] = typer.Option(None, help="file stem (default: pneumonia_cnn / breast_cnn)"),
    data: Optional[Path] = typer.Option(None, help="the dataset .npz (default: the shared data folder)"),
    epochs: Optional[int] = typer.Option(None, help="override the recipe's epochs"),
    seed: Optional[int] = typer.Option(None, help="override the recipe's seed (0)"),
    marker: Optional[str] = typer.Option(
        None, help="train a BIASED model: stamp the tag marker in this corner on every positive image"
    ),
    select: Optional[str] = typer.Option(
        None, help="best_val_auc, last or swa (the recipe's default: swa for breastmnist)"
    ),
) -> None:
    """Train a CAM-compatible CNN with the fixed recipe; print and save the test accuracy and AUC."""
    import torch

    from ..medical.shortcut import Marker, marker_transform
    from ..medical.train import recipe, save_result, train

    torch.set_num_threads(1)
    config = recipe(dataset, epochs=epochs, seed=seed, select=select)
    transform = marker_transform(Marker(corner=marker)) if marker else None
    default_stem = {"pneumoniamnist": "pneumonia_cnn", "breastmnist": "breast_cnn"}[dataset]
    result = train(config, data_path=data, split_transform=transform, log=console.print)
    extra = {"marker": Marker(corner=marker).__dict__} if marker else {}
    path = save_result(result, out, stem or (default_stem + ("_biased" if marker else "")), extra)
    console.print(
        f"test accuracy {result.test['accuracy']:.4f}  AUC {result.test['auc']:.4f}  "
        f"(best epoch {result.best_epoch}, {result.seconds:.0f} s) -> {path}"
    )


@medical_app.command("shortcut")
def shortcut_cmd(
    biased: Path = typer.Option(..., help="state dict of the biased model (netloupe medical train ... --marker)"),
    clean: str = typer.Option("pneumonia-cnn", help="zoo name of the clean model"),
    out: Path = typer.Option(Path("results/medical/shortcut"), help="output folder"),
    data: Optional[Path] = typer.Option(None, help="pneumoniamnist.npz (default: the shared data folder)"),
    corner: str = typer.Option("top-right", help="the marker's corner (as in training)"),
) -> None:
    """Compare the clean and the biased model: accuracies with the marker moved, marker energy shares."""
    import torch

    from ..medical.medmnist import load_split
    from ..medical.shortcut import Marker
    from ..medical.shortcut_experiment import run_shortcut_experiment, write_shortcut_report
    from ..models.medcnn import MedCNN
    from ..models.zoo import load_model

    torch.set_num_threads(1)
    marker = Marker(corner=corner)
    test = load_split("pneumoniamnist", "test", data)
    biased_model = MedCNN(1, 2)
    biased_model.load_state_dict(torch.load(str(biased), map_location="cpu", weights_only=True))
    models = {"clean": load_model(clean).model, "biased": biased_model.eval()}
    result = run_shortcut_experiment(models, test, marker)
    files = write_shortcut_report(result, test, marker, out)
    console.print(Path(files["results.md"]).read_text(), markup=False)
    console.print(f"wrote {', '.join(files.values())}")


def register(app: typer.Typer) -> None:
    """Add the ``medical`` command group."""
    app.add_typer(medical_app, name="medical")
