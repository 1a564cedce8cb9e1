"""Which inputs a model reads, the default top-k per model, and the mismatch warning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torch import nn

from netloupe.errors import InputError
from netloupe.models import ImagePreprocess, LoadedModel
from netloupe.models.compat import (
    default_top_k,
    domain_of,
    domain_of_zoo_entry,
    input_category,
    input_mismatch_warning,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _model(name: str, channels: int, n_classes: int) -> LoadedModel:
    pre = ImagePreprocess(size=(28, 28), mean=(0.5,) * channels, std=(0.5,) * channels, channels=channels)
    return LoadedModel(name, nn.Identity(), pre, [f"c{i}" for i in range(n_classes)])


PHOTO_MODEL = _model("photo-net", 3, 1000)
GREY_MODEL = _model("xray-net", 1, 2)


def test_default_top_k_adapts_to_the_number_of_classes() -> None:
    assert default_top_k(PHOTO_MODEL) == 3
    assert default_top_k(GREY_MODEL) == 2
    assert default_top_k(_model("one", 3, 1)) == 1
    assert default_top_k(PHOTO_MODEL, preferred=5) == 5
    with pytest.raises(InputError, match="preferred"):
        default_top_k(PHOTO_MODEL, preferred=0)


def test_zoo_domains_from_tags() -> None:
    assert domain_of_zoo_entry("efficientnet-lite0") == "photo"
    assert domain_of_zoo_entry("pneumonia-cnn") == "grey"
    assert domain_of_zoo_entry("breast-cnn") == "grey"
    assert domain_of_zoo_entry("no-such-model") is None
    assert domain_of(PHOTO_MODEL) == "photo"
    assert domain_of(GREY_MODEL) == "grey"


def test_input_category_of_images_arrays_kinds_and_paths(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    assert input_category(Image.fromarray(colour)) == "photo"
    assert input_category(Image.fromarray(grey)) == "grey"
    assert input_category(Image.fromarray(grey).convert("RGB")) == "grey"  # three equal channels
    assert input_category(colour) == "photo"
    assert input_category(grey.astype(np.float32) / 255) == "grey"
    assert input_category("dicom") == "scan"
    assert input_category("nifti-gz") == "scan"
    assert input_category("jpeg") == "photo"
    assert input_category(DATA / "CT_small.dcm") == "scan"
    assert input_category(DATA / "anatomical.nii") == "scan"
    Image.fromarray(colour).save(tmp_path / "c.png")
    assert input_category(tmp_path / "c.png") == "photo"
    with pytest.raises(InputError, match="expected photo, grey, scan"):
        input_category("bogus")


def test_mismatch_warning_names_the_input_the_model_and_a_way_out() -> None:
    rng = np.random.default_rng(1)
    cat = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    assert input_mismatch_warning(PHOTO_MODEL, cat) is None
    assert input_mismatch_warning(GREY_MODEL, "DX") is None  # a DICOM chest X-ray
    assert input_mismatch_warning(GREY_MODEL, "scan") is not None  # a CT slice: not what it was trained on
    assert input_mismatch_warning(GREY_MODEL, cat.convert("L")) is None
    ct = input_mismatch_warning(PHOTO_MODEL, DATA / "CT_small.dcm")
    assert ct is not None
    assert "DICOM/NIfTI scan" in ct and "photo-net" in ct and "colour photographs" in ct and "CT/MR" in ct
    xray = input_mismatch_warning(GREY_MODEL, Image.fromarray(np.zeros((8, 8, 3), np.uint8)))
    assert xray is None  # a black RGB file is grey
    photo = input_mismatch_warning(GREY_MODEL, cat)
    assert photo is not None
    assert "colour photograph" in photo and "grey-scale medical images" in photo and "c0, c1" in photo


def test_real_zoo_models_warn_both_ways() -> None:
    from netloupe.models import load_model

    imagenet = load_model("efficientnet-lite0")
    assert default_top_k(imagenet) == 3
    assert input_mismatch_warning(imagenet, DATA / "CT_small.dcm") is not None
    pneumonia = load_model("pneumonia-cnn")
    assert default_top_k(pneumonia) == 2
    assert input_mismatch_warning(pneumonia, "photo") is not None
    ct = input_mismatch_warning(pneumonia, DATA / "CT_small.dcm")
    assert ct is not None and "ships none for CT/MR" in ct


def test_non_image_zoo_entries_have_no_image_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    from netloupe.models import zoo

    entry = zoo.ZooEntry("some-text-model", "a sentence classifier", lambda: PHOTO_MODEL, tags=("text",))
    monkeypatch.setitem(zoo._ZOO, entry.name, entry)
    assert domain_of_zoo_entry("some-text-model") is None
