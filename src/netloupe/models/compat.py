"""Which inputs a model can read, the default top-k for a model, and a warning for a mismatched input.

A model trained on colour photographs (the default ImageNet model) answers *something* for a CT slice
("brassiere") and a grey 28x28 chest X-ray model answers "normal" or "pneumonia" for a photo of a cat:
neither answer means anything. The functions here let the CLI, the library and the web app say so.

Input categories (what :func:`input_category` returns):

* ``"photo"``: a colour image (at least one pixel whose channels differ);
* ``"grey"``: a single-channel image, or a colour file whose channels are all equal (a grey PNG, an X-ray);
* ``"scan"``: a CT/MR DICOM or a NIfTI volume (a DICOM projection X-ray or ultrasound, modality CR, DX,
  MG, US or XA, is ``"grey"``: it is the kind of image the grey medical models were trained on).

A model's domain comes from its preprocessing (3 channels: photographs; 1 channel: grey images) and,
for zoo models, from their tags (``"medical"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from ..errors import InputError
from .zoo import LoadedModel

__all__ = [
    "GREY_MODALITIES",
    "INPUT_CATEGORIES",
    "InputCategory",
    "ModelDomain",
    "accepted_categories",
    "category_text",
    "default_top_k",
    "domain_of",
    "domain_of_zoo_entry",
    "domain_text",
    "input_category",
    "input_mismatch_warning",
]

InputCategory = Literal["photo", "grey", "scan"]
ModelDomain = Literal["photo", "grey"]
INPUT_CATEGORIES: tuple[InputCategory, ...] = ("photo", "grey", "scan")

#: What each category is called in messages.
_CATEGORY_TEXT: dict[str, str] = {
    "photo": "a colour photograph",
    "grey": "a grey-scale image",
    "scan": "a DICOM/NIfTI scan",
}
#: Which input categories a model of each domain reads. A grey photo is still a photo to an ImageNet
#: model (it sees three equal channels); a grey model reads grey images (X-rays, ultrasound). No shipped
#: model was trained on CT/MR slices, so ``"scan"`` is read by none of them.
_ACCEPTS: dict[str, tuple[InputCategory, ...]] = {"photo": ("photo", "grey"), "grey": ("grey",)}
#: DICOM modalities whose images are single projections or ultrasound frames (read as "grey").
GREY_MODALITIES = frozenset({"CR", "DX", "MG", "US", "XA", "RF", "IO", "PX"})
_DOMAIN_TEXT: dict[str, str] = {
    "photo": "colour photographs",
    "grey": "grey-scale medical images",
}
_MEDICAL_SUFFIXES = (".dcm", ".dicom", ".nii", ".nii.gz", ".ima")
_PHOTO_KINDS = ("png", "jpeg", "jpg", "tiff", "tif", "bmp", "webp", "gif")


def default_top_k(loaded: LoadedModel, preferred: int = 3) -> int:
    """The top-k to explain when the user gives none: ``min(preferred, number of classes)``.

    A two-class model (``pneumonia-cnn``) gets 2, the ImageNet model 3.
    """
    if preferred < 1:
        raise InputError(f"preferred: expected a positive number of classes, got {preferred}")
    n = len(loaded.class_names)
    return max(1, min(preferred, n)) if n else preferred


def domain_of(loaded: LoadedModel) -> ModelDomain:
    """``"grey"`` for a one-channel model (trained on grey images), else ``"photo"``."""
    return "grey" if loaded.preprocess.channels == 1 else "photo"


def domain_of_zoo_entry(name: str) -> ModelDomain | None:
    """The domain of a zoo image model from its tags, without building it (None: not a zoo image model)."""
    from .zoo import _ZOO, _load_builtin_entries

    _load_builtin_entries()
    entry = _ZOO.get(name)
    if entry is None or (entry.tags and "image" not in entry.tags):
        return None  # not a zoo model, or not an image model (text, signals, video)
    return "grey" if "medical" in entry.tags or "grey" in entry.tags else "photo"


def accepted_categories(domain: ModelDomain) -> tuple[InputCategory, ...]:
    """The input categories a model of ``domain`` can read."""
    return _ACCEPTS[domain]


def domain_text(domain: ModelDomain) -> str:
    """``"colour photographs"`` / ``"grey-scale medical images"``."""
    return _DOMAIN_TEXT[domain]


def category_text(category: InputCategory) -> str:
    """``"a colour photograph"`` / ``"a grey-scale image"`` / ``"a DICOM/NIfTI scan"``."""
    return _CATEGORY_TEXT[category]


def input_category(item: object) -> InputCategory:
    """The category of an input: a category name, an upload kind, a path, a PIL image or an array.

    Args:
        item: ``"photo"``/``"grey"``/``"scan"``; an upload kind (``"dicom"``, ``"nifti"``, ``"png"``...;
            a photo kind is read as ``"photo"``); a path (DICOM/NIfTI by suffix, other files opened);
            a PIL image; a numpy array ``(H, W)``, ``(H, W, C)``; an object with ``is_color`` (a
            :class:`netloupe.io.medical.MedicalImage`, always ``"scan"``).
    """
    if isinstance(item, str) and not Path(item).suffix and not Path(item).exists():
        key = item.lower()
        if key in INPUT_CATEGORIES:
            return key
        if key in ("dicom", "nifti", "nifti-gz", "ct", "mr", "medical"):
            return "scan"
        if key.upper() in GREY_MODALITIES:
            return "grey"
        if key in _PHOTO_KINDS or key == "sample":
            return "photo"
        raise InputError(f"input: expected photo, grey, scan, an upload kind, a path or an image, got {item!r}")
    if isinstance(item, (str, Path)):
        path = Path(item)
        if path.name.lower().endswith(_MEDICAL_SUFFIXES):
            return "grey" if _dicom_modality(path) in GREY_MODALITIES else "scan"
        if not path.is_file():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        if path.suffix.lower() == ".npy":
            return _array_category(np.load(path, mmap_mode="r", allow_pickle=False))
        try:
            with Image.open(path) as im:
                return _image_category(im)
        except OSError as exc:
            from ..io.medical import has_dicom_preamble

            if has_dicom_preamble(path):
                return "scan"  # a DICOM file without a suffix
            raise InputError(f"input: {path} is neither an image Pillow reads nor a DICOM/NIfTI file") from exc
    if isinstance(item, Image.Image):
        return _image_category(item)
    if hasattr(item, "is_color") and hasattr(item, "display"):
        return "scan"
    if isinstance(item, np.ndarray):
        return _array_category(item)
    raise InputError(f"input: cannot tell the kind of a {type(item).__name__}")


def _dicom_modality(path: Path) -> str | None:
    """The DICOM Modality tag (None for NIfTI, unreadable files or without pydicom)."""
    if not path.name.lower().endswith((".dcm", ".dicom", ".ima")):
        return None
    try:
        import pydicom

        return str(pydicom.dcmread(path, stop_before_pixels=True, force=True).get("Modality", "")).upper() or None
    except Exception:  # pydicom missing or a broken header: the caller falls back to "scan"
        return None


def _image_category(image: Image.Image) -> InputCategory:
    if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return "grey"
    rgb = image.convert("RGB")
    rgb.thumbnail((256, 256))
    return _array_category(np.asarray(rgb))


def _array_category(arr: np.ndarray) -> InputCategory:
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 1):
        return "grey"
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        rgb = arr[..., :3].astype(np.float64)
        spread = np.abs(rgb - rgb.mean(axis=-1, keepdims=True)).max()
        scale = max(float(np.abs(rgb).max()), 1e-12)
        return "grey" if spread <= 2.0 / 255.0 * max(scale, 1.0) else "photo"
    raise InputError(f"input: expected a (H, W) or (H, W, C) image array, got shape {arr.shape}")


def input_mismatch_warning(loaded: LoadedModel, kind_or_image: object) -> str | None:
    """One line saying that the input is not what ``loaded`` was trained on, or None when it fits.

    Examples: a CT/DICOM scan into the ImageNet model; a colour photograph into a grey 28x28 chest X-ray
    model. The prediction of such a model on such an input means nothing, whatever its probability.

    Args:
        loaded: the model.
        kind_or_image: anything :func:`input_category` accepts.
    """
    category = input_category(kind_or_image)
    domain = domain_of(loaded)
    if category in accepted_categories(domain):
        return None
    if category == "scan":
        suggestion = "a model trained on such scans (--model FILE); netloupe ships none for CT/MR"
    elif domain == "photo":
        suggestion = "a medical model (netloupe models lists them, e.g. pneumonia-cnn for chest X-rays)"
    else:
        suggestion = "a model trained on photographs (the default, efficientnet-lite0)"
    return (
        f"the input is {category_text(category)} but {loaded.name} was trained on {domain_text(domain)}; "
        f"its classes ({', '.join(loaded.class_names[:3])}{', ...' if len(loaded.class_names) > 3 else ''}) "
        f"mean nothing for this input: use {suggestion}"
    )
