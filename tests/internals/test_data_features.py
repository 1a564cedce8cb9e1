from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from netloupe.errors import InputError
from netloupe.internals.data import ImageSet, load_image_set, with_complements
from netloupe.internals.features import FeatureSet, extract_features, pixel_vectors, pool_features
from netloupe.models.preprocess import ImagePreprocess

RAW = ImagePreprocess(size=(4, 4), mean=(0.0,), std=(1.0,), channels=1)


def _save(path: Path, value: int, size: tuple[int, int] = (4, 4)) -> None:
    Image.fromarray(np.full((size[1], size[0]), value, np.uint8)).save(path)


def test_folder_with_class_subfolders(tmp_path: Path) -> None:
    for cls, v in (("cat", 10), ("dog", 200)):
        (tmp_path / cls).mkdir()
        for i in range(2):
            _save(tmp_path / cls / f"{i}.png", v + i)
    ds = load_image_set(tmp_path)
    assert ds.class_names == ["cat", "dog"]
    assert ds.labels.tolist() == [0, 0, 1, 1]
    assert np.asarray(ds.image(3)).max() == 201


def test_csv_with_labels_names_and_masks(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    _save(tmp_path / "images" / "a.png", 50)
    _save(tmp_path / "images" / "b.png", 90)
    m = np.zeros((4, 4), np.uint8)
    m[:2] = 255
    Image.fromarray(m).save(tmp_path / "masks" / "a_m.png")
    _save(tmp_path / "masks" / "b_m.png", 0, size=(5, 4))  # wrong size
    (tmp_path / "list.csv").write_text(
        "image,mask,class_index,class_name\na.png,a_m.png,3,tench\nb.png,b_m.png,1,goldfish\n"
    )
    ds = load_image_set(tmp_path / "list.csv", mask_columns=["mask"])
    assert ds.labels.tolist() == [3, 1]
    assert ds.class_names[3] == "tench"
    assert ds.class_names[1] == "goldfish"
    assert ds.masks(0).shape == (1, 4, 4)
    assert ds.masks(0)[0, :2].all()
    assert not ds.masks(0)[0, 2:].any()
    both = with_complements(ds)
    assert both.concepts == ["mask", "not mask"]
    assert both.masks(0)[1, 2:].all()
    with pytest.raises(InputError, match=r"b_m.png is 5x4 but its image b.png is 4x4"):
        ds.masks(1)
    with pytest.raises(InputError, match=r"label_column: 'dx' is not a column"):
        load_image_set(tmp_path / "list.csv", label_column="dx")


def test_npz_splits(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", train_images=np.zeros((3, 5, 5), np.uint8), train_labels=np.array([[0], [1], [1]]))
    with pytest.raises(InputError, match=r"holds splits train: choose one with split="):
        load_image_set(tmp_path / "d.npz")
    ds = load_image_set(tmp_path / "d.npz", split="train")
    assert len(ds) == 3
    assert ds.labels.tolist() == [0, 1, 1]
    assert ds.image(0).size == (5, 5)


def test_pixel_vectors_resize_and_refuse_mixed_sizes_without_it() -> None:
    imgs = [Image.fromarray(np.full((4, 6), 255, np.uint8)), Image.fromarray(np.zeros((8, 8), np.uint8))]
    v = pixel_vectors(imgs, size=(2, 2), grey=True)
    np.testing.assert_allclose(v, [[1.0] * 4, [0.0] * 4])
    with pytest.raises(InputError, match=r"mixed image sizes 6x4, 8x8 .* pass size="):
        pixel_vectors(imgs, size=None)


def test_penultimate_features_equal_the_pooled_conv_output(tmp_path: Path) -> None:
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0]]], [[[-2.0]]]]))
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2)).train()
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (4, 4), dtype=np.uint8) for _ in range(5)]
    ds = ImageSet.from_arrays(arrays, [0, 1, 0, 1, 1])
    fs = extract_features(model, ds, RAW, batch_size=2)
    means = np.array([a.mean() / 255 for a in arrays])
    np.testing.assert_allclose(fs.features, np.stack([means, -2 * means], 1), rtol=1e-5)
    assert model.training
    assert all(not m._forward_pre_hooks for m in model.modules())
    spatial = extract_features(model, ds, RAW, layer="0", pool="max")
    np.testing.assert_allclose(spatial.features[:, 0], [a.max() / 255 for a in arrays], rtol=1e-5)
    path = fs.save(tmp_path / "f.npz")
    back = FeatureSet.load(path)
    np.testing.assert_array_equal(back.features, fs.features)
    assert back.labels.tolist() == [0, 1, 0, 1, 1]
    assert back.layer == "penultimate"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npz"]  # no partial file left


def test_pool_and_penultimate_errors() -> None:
    with pytest.raises(InputError, match=r"pool: expected 'avg' or 'max'"):
        pool_features(torch.zeros(1, 2, 3, 3), "sum")  # type: ignore[arg-type]
    ds = ImageSet.from_arrays([np.zeros((4, 4), np.uint8)])
    with pytest.raises(InputError, match=r"needs a model with a final nn.Linear head"):
        extract_features(nn.Conv2d(1, 1, 1), ds, RAW)
