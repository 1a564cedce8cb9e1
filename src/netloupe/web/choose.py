"""Which served model answers a request, and why (the page shows the reason next to the answer).

* The page's default is the default ImageNet model (:data:`netloupe.models.zoo.DEFAULT_MODEL`) when it is
  served, or the first model named at start-up; never the first name alphabetically.
* A model is offered only for the inputs it can read (:mod:`netloupe.models.compat`): colour photos go to
  photo models, grey images and DICOM X-rays to either (grey medical models first for DICOM), CT/MR
  scans to none of the shipped models (the answer then carries a warning).
* With no model in the request, the default answers when it can read the input, else the first served
  model that can. A model named in the request answers, with a warning when it cannot read the input.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ..models.compat import (
    GREY_MODALITIES,
    INPUT_CATEGORIES,
    InputCategory,
    ModelDomain,
    accepted_categories,
    category_text,
    domain_of,
    domain_of_zoo_entry,
    domain_text,
    input_category,
    input_mismatch_warning,
)
from ..models.zoo import DEFAULT_MODEL
from .inputs import StoredInput
from .pool import ModelPool
from .settings import Settings

#: DICOM modality -> the zoo tag of the data set whose images look like it (chest X-rays, ultrasound).
_MODALITY_TAGS = {"CR": "pneumoniamnist", "DX": "pneumoniamnist", "US": "breastmnist"}

__all__ = ["Choice", "choose_model", "default_model", "model_domain", "model_inputs", "request_category"]


@dataclass(frozen=True)
class Choice:
    """The model that answers, one sentence saying why, and a warning when it cannot read the input."""

    model: str
    reason: str
    category: InputCategory
    warning: str | None = None


def default_model(settings: Settings, names: list[str]) -> str:
    """The page's default: the first model named at start-up, else the default ImageNet model."""
    if settings.models:
        return settings.models[0]
    if DEFAULT_MODEL in names:
        return DEFAULT_MODEL
    return names[0]


def model_domain(pool: ModelPool, name: str) -> ModelDomain | None:
    """A served model's domain: from the loaded model, else the zoo's tags (None: not known before loading)."""
    if name in pool.loaded_names():
        return domain_of(pool.get(name).loaded)
    return domain_of_zoo_entry(name)


def model_inputs(pool: ModelPool, name: str) -> list[InputCategory]:
    """The input categories ``name`` reads (every category when its domain is not known yet)."""
    domain = model_domain(pool, name)
    if domain is None and _is_zoo_non_image(name):
        return []  # a text/signal/video model: offered for no image input
    return list(INPUT_CATEGORIES if domain is None else accepted_categories(domain))


def trained_on(pool: ModelPool, name: str) -> str:
    """``"colour photographs"``, ``"grey-scale medical images"`` or ``""`` when unknown."""
    domain = model_domain(pool, name)
    return "" if domain is None else domain_text(domain)


def request_category(stored: StoredInput, image: Image.Image, modality: object = None) -> InputCategory:
    """The category of a request's input: photos by their pixels, DICOM/NIfTI by modality (X-ray: grey)."""
    if stored.image is None:
        return "grey" if isinstance(modality, str) and modality.upper() in GREY_MODALITIES else "scan"
    return input_category(image)


def choose_model(
    pool: ModelPool,
    requested: str | None,
    category: InputCategory,
    default: str,
    medical: bool = False,
    modality: str | None = None,
) -> Choice:
    """Pick the model for an input of ``category`` (see the module docstring).

    Args:
        pool: the served models.
        requested: the model named in the request (None or "": choose).
        category: the input's category (:func:`request_category`).
        default: the page's default model.
        medical: the input is a DICOM/NIfTI file: a grey medical model answers before a photo model.
        modality: the DICOM modality; a model trained on that kind of image goes first (DX -> chest X-rays).
    """
    what = category_text(category)
    if not requested and medical:
        tag = _MODALITY_TAGS.get(modality.upper()) if modality else None
        for name in sorted(pool.names, key=lambda n: not _has_tag(n, tag)):
            if model_domain(pool, name) == "grey" and category in model_inputs(pool, name):
                return Choice(name, f"the input is a medical file and {name} reads {what}", category)
    if requested:
        served = pool.get(requested)  # unknown names -> InputError (422)
        warning = input_mismatch_warning(served.loaded, category)
        return Choice(requested, "it was chosen for this request", category, warning)
    if category in model_inputs(pool, default):
        return Choice(default, f"it is the default model and reads {what}", category)
    for name in pool.names:
        if category in model_inputs(pool, name):
            return Choice(
                name,
                f"the default model ({default}) was trained on {trained_on(pool, default)}, "
                f"not {what}; {name} reads {what}",
                category,
            )
    served = pool.get(default)
    warning = input_mismatch_warning(served.loaded, category)
    return Choice(default, f"it is the default model; no served model reads {what}", category, warning)


def _has_tag(name: str, tag: str | None) -> bool:
    from ..models.zoo import _ZOO

    entry = _ZOO.get(name)
    return tag is not None and entry is not None and tag in entry.tags


def _is_zoo_non_image(name: str) -> bool:
    from ..models.zoo import _ZOO

    entry = _ZOO.get(name)
    return entry is not None and bool(entry.tags) and "image" not in entry.tags
