"""The project's own medical models in the zoo: CAM-compatible CNNs trained on MedMNIST.

``pneumonia-cnn`` (PneumoniaMNIST, normal vs pneumonia chest X-rays) and ``breast-cnn`` (BreastMNIST,
malignant vs normal/benign ultrasound) are :class:`~netloupe.models.medcnn.MedCNN` networks trained by
``netloupe medical train DATASET`` (see :mod:`netloupe.medical.train`); their weights (``*.pt`` state
dicts) and measured numbers (``*.json``) ship in ``netloupe/models/data``; the model card is
``netloupe/models/data/MEDICAL_MODELS.md``. Research and teaching only: not a medical device.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelLoadError
from .medcnn import MedCNN
from .preprocess import ImagePreprocess
from .zoo import LoadedModel, ZooEntry, register_model

__all__ = ["MEDICAL_MODELS", "MedicalModelSpec", "build_medical_model", "load_weights_into", "medical_preprocess"]


@dataclass(frozen=True)
class MedicalModelSpec:
    """A shipped medical model: zoo name, dataset, weight file stem, class names, description."""

    name: str
    dataset: str
    stem: str
    class_names: tuple[str, ...]
    description: str


MEDICAL_MODELS: dict[str, MedicalModelSpec] = {
    "pneumonia-cnn": MedicalModelSpec(
        "pneumonia-cnn",
        "pneumoniamnist",
        "pneumonia_cnn",
        ("normal", "pneumonia"),
        "CAM-ready CNN (GAP + linear) for paediatric chest X-rays, normal vs pneumonia (PneumoniaMNIST, 28 px)",
    ),
    "breast-cnn": MedicalModelSpec(
        "breast-cnn",
        "breastmnist",
        "breast_cnn",
        ("malignant", "normal/benign"),
        "CAM-ready CNN (GAP + linear) for breast ultrasound, malignant vs normal/benign (BreastMNIST, 28 px)",
    ),
}


def medical_preprocess(size: int = 28) -> ImagePreprocess:
    """Grey-scale, whole image resized to ``size`` x ``size``, scaled to [-1, 1] (as in training)."""
    return ImagePreprocess(size=(size, size), mean=(0.5,), std=(0.5,), channels=1)


def _card(spec: MedicalModelSpec, info: dict[str, Any]) -> str:
    test = info.get("test") or {}
    seed = (info.get("config") or {}).get("seed", "?")
    return (
        f"{spec.description}. Trained by `netloupe medical train {spec.dataset}` (seed "
        f"{seed}, official MedMNIST v2 split). Official test split: "
        f"accuracy {test.get('accuracy')}, AUC {test.get('auc')} (n={test.get('n')}). Data CC BY 4.0 "
        "(Yang et al., Sci Data 2023). Research and teaching only; not for diagnosis. "
        "Card: netloupe/models/data/MEDICAL_MODELS.md"
    )


def build_medical_model(name: str) -> LoadedModel:
    """Build a shipped medical model with its weights (offline)."""
    if name not in MEDICAL_MODELS:
        raise ModelLoadError(f"model: expected one of {sorted(MEDICAL_MODELS)}, got {name!r}")
    spec = MEDICAL_MODELS[name]
    data = resources.files("netloupe.models").joinpath("data")
    weights, meta = data.joinpath(f"{spec.stem}.pt"), data.joinpath(f"{spec.stem}.json")
    if not weights.is_file():
        raise ModelLoadError(
            f"model: {name!r} weights ({spec.stem}.pt) are not installed; train them with "
            f"`netloupe medical train {spec.dataset} --out src/netloupe/models/data`"
        )
    info = json.loads(meta.read_text()) if meta.is_file() else {}
    config = info.get("config", {})
    width, size = int(config.get("width", 32)), int(config.get("input_size", 28))
    model = MedCNN(1, len(spec.class_names), width=width)
    with resources.as_file(weights) as path:
        model.load_state_dict(torch.load(str(path), map_location="cpu", weights_only=True))
    return LoadedModel(
        name=name,
        model=model.eval(),
        preprocess=medical_preprocess(size),
        class_names=list(spec.class_names),
        target_layer="features",
        input_kind="image",
        card=_card(spec, info),
    )


def load_weights_into(loaded: LoadedModel, path: str | Path) -> LoadedModel:
    """Replace a loaded model's weights with a state dict of the same architecture (e.g. a retrained copy)."""
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        loaded.model.load_state_dict(state)
    except FileNotFoundError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelLoadError(f"weights: {path} is not a state dict for {loaded.name!r} ({first})") from exc
    loaded.model.eval()
    loaded.name = f"{loaded.name}+{Path(path).stem}"
    loaded.card = f"{loaded.name}: architecture of the zoo model with weights from {path}."
    return loaded


for _spec in MEDICAL_MODELS.values():
    register_model(
        ZooEntry(
            name=_spec.name,
            description=_spec.description,
            build=partial(build_medical_model, _spec.name),
            licence="weights: Apache-2.0 (netloupe); training data: CC BY 4.0 (MedMNIST v2)",
            tags=("medical", "image", _spec.dataset, "cam-ready"),
        )
    )
