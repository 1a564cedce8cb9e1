"""A small PneumoniaMNIST CNN for the internals views (feature space, filters, dissection demos).

Trained by ``scripts/internals/train_pneumonia_tinycnn.py`` (fixed seed, CPU) on PneumoniaMNIST's train
split (Yang et al. 2023, MedMNIST v2, CC BY 4.0; source images Kermany et al. 2018). The medical
models (``pneumonia-cnn``) may supersede it; it stays small (about 250 kB) and self-contained.
"""

from __future__ import annotations

from importlib import resources

import torch
from torch import nn

from ..errors import ModelLoadError
from .preprocess import ImagePreprocess
from .zoo import LoadedModel, ZooEntry, register_model

__all__ = ["PNEUMONIA_TINYCNN", "TinyCNN", "pneumonia_preprocess"]

PNEUMONIA_TINYCNN = "pneumonia-tinycnn"
WEIGHTS_FILE = "pneumonia_tinycnn.pt"


class TinyCNN(nn.Module):
    """4 conv blocks (16-32-64-64 channels, 3x3, BN, ReLU; max-pool after blocks 2 and 3) -> GAP -> linear."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.features = nn.Sequential(
            block(in_channels, 16),
            block(16, 32),
            nn.MaxPool2d(2),
            block(32, 64),
            nn.MaxPool2d(2),
            block(64, 64),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def pneumonia_preprocess() -> ImagePreprocess:
    """28x28 grey, scaled to [-1, 1]."""
    return ImagePreprocess(size=(28, 28), mean=(0.5,), std=(0.5,), channels=1)


def _build() -> LoadedModel:
    model = TinyCNN()
    ref = resources.files("netloupe.models").joinpath(f"data/{WEIGHTS_FILE}")
    if not ref.is_file():
        raise ModelLoadError(
            f"model: {PNEUMONIA_TINYCNN} weights are missing; train them with "
            "scripts/internals/train_pneumonia_tinycnn.py"
        )
    with resources.as_file(ref) as path:
        model.load_state_dict(torch.load(str(path), map_location="cpu", weights_only=True))
    return LoadedModel(
        name=PNEUMONIA_TINYCNN,
        model=model.eval(),
        preprocess=pneumonia_preprocess(),
        class_names=["normal", "pneumonia"],
        target_layer="features.5",
        card="TinyCNN (4 conv blocks, 65k parameters) trained on PneumoniaMNIST 28x28 (CC BY 4.0); "
        "see scripts/internals/train_pneumonia_tinycnn.py and results/internals/README.md for accuracy.",
    )


register_model(
    ZooEntry(
        name=PNEUMONIA_TINYCNN,
        description="Small CNN for PneumoniaMNIST 28x28 (normal vs pneumonia), for the internals views",
        build=_build,
        licence="CC BY 4.0 (trained on MedMNIST v2 PneumoniaMNIST)",
        tags=("medical", "image", "xray", "grey"),
    )
)
