"""Cross-validation folds, flip-averaged prediction, mixup/label smoothing and the CAM-ready head."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netloupe.errors import InputError
from netloupe.medical.crossval import predict_class1, stratified_folds
from netloupe.medical.medmnist import MedMNISTSplit
from netloupe.medical.train import TrainConfig, fit, recipe
from netloupe.models.medcnn import MedCNN


def test_stratified_folds_partition_and_keep_the_class_mix() -> None:
    labels = torch.tensor([0] * 10 + [1] * 25)
    folds = stratified_folds(labels, 5, seed=3)
    assert sorted(torch.cat(folds).tolist()) == list(range(35))  # a partition: every index exactly once
    for f in folds:  # 10 / 5 = 2 of class 0 and 25 / 5 = 5 of class 1 in every fold
        assert int((labels[f] == 0).sum()) == 2 and int((labels[f] == 1).sum()) == 5
    uneven = stratified_folds(torch.tensor([0] * 7 + [1] * 4), 3)
    assert sorted(len(f) for f in uneven) == [3, 4, 4]
    for c, n in ((0, 7), (1, 4)):  # per class, fold counts differ by at most one
        counts = [int((torch.tensor([0] * 7 + [1] * 4)[f] == c).sum()) for f in uneven]
        assert sum(counts) == n and max(counts) - min(counts) <= 1
    assert [f.tolist() for f in stratified_folds(labels, 5, seed=3)] == [f.tolist() for f in folds]
    with pytest.raises(InputError, match="k"):
        stratified_folds(labels, 1)


class _LeftRight(nn.Module):
    """Logit of class 1 = mean of the left half minus mean of the right half (a mirror flips its sign)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x[..., : x.shape[-1] // 2].mean((1, 2, 3)) - x[..., x.shape[-1] // 2 :].mean((1, 2, 3))
        return torch.stack([torch.zeros_like(d), d], 1)


def test_flip_average_is_the_mean_of_image_and_mirror() -> None:
    x = torch.rand(4, 1, 6, 6)
    p = predict_class1(_LeftRight(), x)
    mirrored = predict_class1(_LeftRight(), x.flip(-1))
    # logits d and -d: sigmoid(d) + sigmoid(-d) = 1, so the flip average is exactly 1/2
    torch.testing.assert_close(p + mirrored, torch.ones(4))
    torch.testing.assert_close(predict_class1(_LeftRight(), x, flip=True), torch.full((4,), 0.5))


def _toy_split(n: int, seed: int) -> MedMNISTSplit:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = torch.rand(n, 1, 12, 12, generator=g) * 0.3
    images[labels == 1, :, 3:9, 3:9] += 0.6  # class 1: a bright square
    return MedMNISTSplit(images=images.clamp(0, 1), labels=labels, class_names=("a", "b"))


@pytest.mark.parametrize("extra", [{}, {"mixup": 0.4}, {"label_smoothing": 0.1}])
def test_fit_learns_a_bright_square_with_each_loss(extra: dict[str, float]) -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(dataset="breastmnist", epochs=8, batch_size=16, width=4, lr=1e-2, select="swa", **extra)
    seen: list[int] = []
    fitted = fit(cfg, _toy_split(48, 0), _toy_split(32, 1), on_epoch=lambda e, m: seen.append(e))
    assert seen == list(range(8))
    assert fitted.history[-1]["auc"] > 0.95  # the square is trivially separable
    a = fit(cfg, _toy_split(48, 0), _toy_split(32, 1)).model.state_dict()
    b = fitted.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # same seed, same weights


def test_recipe_rejects_unknown_options() -> None:
    assert recipe("breastmnist", mixup=0.2).mixup == 0.2
    with pytest.raises(InputError, match="unknown"):
        recipe("breastmnist", mixup_alpha=0.2)


def test_cam_equals_gradcam_for_the_gap_linear_head() -> None:
    from netloupe.cam import explain

    torch.manual_seed(0)
    model = MedCNN(1, 2, width=4).eval()
    x = torch.rand(3, 1, 28, 28)
    raw = {"upsample": False, "normalize": False, "relu": False}
    res = explain(model, x, ["cam", "gradcam"], targets=[1, 0, 1], layer="features", **raw)
    cam, grad = res.maps["cam"], res.maps["gradcam"]
    assert cam.shape[-2:] == (7, 7)
    # Grad-CAM's channel weight is the spatial mean of dy/dA = w_c / 49: the same map scaled by 1/49
    torch.testing.assert_close(cam, 49 * grad, rtol=1e-4, atol=1e-5)
    # and the CAM map's spatial mean plus the bias is the logit (the head is GAP + linear)
    with torch.no_grad():
        logits = model(x)
    for i, c in enumerate([1, 0, 1]):
        assert float(cam[i, 0].mean() + model.fc.bias.detach()[c]) == pytest.approx(float(logits[i, c]), abs=1e-4)
    normalised = explain(model, x, ["cam", "gradcam"], targets=[1, 0, 1], layer="features")
    torch.testing.assert_close(normalised.maps["cam"], normalised.maps["gradcam"], rtol=1e-4, atol=1e-4)


def test_auc_standard_error_hand_values() -> None:
    from netloupe.medical.train import auc_standard_error

    # A = 1/2, 10 + 10: Q1 = Q2 = 1/3, var = (1/4 + 9 (1/12) + 9 (1/12)) / 100 = 0.0175
    assert auc_standard_error(0.5, 10, 10) == pytest.approx(0.0175**0.5)
    # BreastMNIST's test split (114 benign/normal = class 1, 42 malignant) at A = 0.91: about 0.023
    assert auc_standard_error(0.91, 114, 42) == pytest.approx(0.0226, abs=2e-4)
    with pytest.raises(InputError, match="n_pos"):
        auc_standard_error(0.9, 0, 3)
