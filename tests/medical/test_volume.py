"""3-D explanations end to end: Conv3d model, volume in, NIfTI map in the input geometry out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from netloupe.evaluation.energy import energy_share
from netloupe.io.medical import MedicalImage
from netloupe.medical.volume import explain_volume, insert_blob, make_blob_volumes, train_blob_detector


def _blob_model() -> nn.Module:
    """Constructed weights: fires on voxels brighter than 0.75 ((2x - 1) - 0.5 > 0), linear head +1 for class 1."""
    conv = nn.Conv3d(1, 1, 1)
    lin = nn.Linear(1, 2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.fill_(-0.5)
        lin.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        lin.bias.zero_()
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool3d(1), nn.Flatten(), lin).eval()


def _volume() -> tuple[MedicalImage, torch.Tensor]:
    background = torch.rand(12, 14, 10) * 0.6
    vol, mask = insert_blob(background, (4, 9, 6), 2.0, 1.0)
    affine = np.array([[0.0, -1.2, 0.0, 30.0], [0.9, 0.0, 0.0, -20.0], [0.0, 0.0, 2.5, 5.0], [0, 0, 0, 1]])
    arr = vol.numpy().astype(np.float32)
    return MedicalImage(values=arr, display=arr, spacing=(0.9, 1.2, 2.5), affine=affine, meta={"format": "nifti"}), mask


@pytest.mark.parametrize("method", ["gradcam", "cam", "gradcam++", "layercam"])
def test_constructed_model_maps_exactly_the_blob(method: str) -> None:
    image, mask = _volume()
    res = explain_volume(_blob_model(), image, methods=[method], target=1)
    heat = torch.from_numpy(res.maps[method])
    assert heat.shape == mask.shape
    assert energy_share(heat, mask).item() == pytest.approx(1.0, abs=1e-6)
    assert bool(mask.flatten()[heat.flatten().argmax()])


def test_nifti_map_has_the_input_geometry_and_marks_the_blob(tmp_path: Path) -> None:
    nib = pytest.importorskip("nibabel")
    image, mask = _volume()
    res = explain_volume(_blob_model(), image, methods=["gradcam"], size=(8, 8, 8), target=1)
    manifest = json.loads(res.save(tmp_path, "synthetic").read_text())
    entry = manifest["items"][0]["maps"][0]
    assert entry["method"] == "gradcam" and manifest["items"][0]["geometry"]["spacing_mm"] == [0.9, 1.2, 2.5]
    back = nib.load(tmp_path / entry["nifti"])
    assert back.shape == image.shape
    np.testing.assert_allclose(back.affine, image.affine, atol=1e-5)
    data = np.asarray(back.dataobj)
    peak = np.unravel_index(data.argmax(), data.shape)
    world_peak = image.affine @ [*peak, 1]
    world_blob = image.affine @ [4, 9, 6, 1]
    assert np.linalg.norm(world_peak[:3] - world_blob[:3]) <= 3.0  # mm, after a 12x14x10 -> 8^3 -> back round trip
    share = energy_share(torch.from_numpy(data), mask).item()
    assert share > 0.5  # the blob is 33 of 1,680 voxels (2 %)


@pytest.mark.slow
def test_trained_conv3d_localises_blobs() -> None:
    torch.set_num_threads(1)
    import netloupe

    model = train_blob_detector(steps=150, seed=0)
    x, y, masks = make_blob_volumes(64, seed=999)
    pos = y == 1
    xs, ms = (x[pos] - 0.5) / 0.5, masks[pos]
    for method in ("gradcam", "cam"):
        res = netloupe.explain(model, xs, methods=[method], targets=1, layer="features", normalize=False)
        heat = res.maps[method][:, 0]
        flat = heat.flatten(1).argmax(1)
        peaks = torch.stack(torch.unravel_index(flat, heat.shape[1:]), 1).float()
        centres = torch.stack([torch.nonzero(m).float().mean(0) for m in ms])
        hit = ((peaks - centres).norm(dim=1) <= 3.0).float().mean().item()
        concentration = energy_share(heat, ms, spatial=3).nanmean().item() / ms.float().mean().item()
        assert hit >= 0.75, (method, hit)
        assert concentration >= 3.0, (method, concentration)
