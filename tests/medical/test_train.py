"""Training helpers: AUC, augmentation, recipes; the shipped models when their weights are present."""

from __future__ import annotations

import pytest
import torch

from netloupe.errors import InputError
from netloupe.medical.train import TrainConfig, augment, binary_auc, recipe


def test_auc_hand_values() -> None:
    # positives {0.9, 0.4}, negatives {0.5, 0.1}: pairs (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1) -> 3/4
    assert binary_auc(torch.tensor([0.9, 0.5, 0.4, 0.1]), torch.tensor([1, 0, 1, 0])) == pytest.approx(0.75)
    # a tie counts one half: positives {0.5}, negatives {0.5, 0.2} -> (0.5 + 1) / 2
    assert binary_auc(torch.tensor([0.5, 0.5, 0.2]), torch.tensor([1, 0, 0])) == pytest.approx(0.75)


def test_augment_without_ranges_is_identity() -> None:
    x = torch.rand(3, 1, 8, 8)
    cfg = TrainConfig(rotate_deg=0.0, scale=0.0, shift=0.0, hflip=False)
    assert torch.allclose(augment(x, cfg, torch.Generator().manual_seed(0)), x, atol=1e-5)
    flipped = augment(
        x, TrainConfig(rotate_deg=0.0, scale=0.0, shift=0.0, hflip=True), torch.Generator().manual_seed(3)
    )
    for i in range(3):  # each sample is either unchanged or mirrored left-right
        assert torch.allclose(flipped[i], x[i], atol=1e-5) or torch.allclose(flipped[i], x[i].flip(-1), atol=1e-5)


def test_recipes() -> None:
    assert recipe("pneumoniamnist").epochs == 12
    assert recipe("breastmnist").hflip is True
    assert recipe("breastmnist", epochs=2).epochs == 2
    with pytest.raises(InputError, match="dataset"):
        recipe("chestmnist")


@pytest.mark.parametrize("name", ["pneumonia-cnn", "breast-cnn"])
def test_shipped_medical_models_load(name: str) -> None:
    from importlib import resources

    from netloupe.models.medical import MEDICAL_MODELS
    from netloupe.models.zoo import available_models, load_model

    assert name in available_models()
    stem = MEDICAL_MODELS[name].stem
    if not resources.files("netloupe.models").joinpath(f"data/{stem}.pt").is_file():
        pytest.skip(f"{stem}.pt not trained yet")
    loaded = load_model(name)
    assert loaded.target_layer == "features"
    out = loaded.model(torch.zeros(2, 1, 28, 28))
    assert out.shape == (2, 2)
    assert "AUC" in loaded.card and "teaching" in loaded.card
