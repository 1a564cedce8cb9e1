"""Zero-shot (embedding), detection (box score) and segmentation targets, with hand-computed values."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netloupe
from netloupe.errors import TargetError
from netloupe.targets import BoxScoreTarget, EmbeddingTarget, SegmentationTarget, TargetOutputs


class LinearEmbedder(nn.Module):
    """x -> 1x1 conv features (3 ch) -> GAP -> linear embedding (4-D)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(2, 3, 1)
        self.proj = nn.Linear(3, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(x).mean((2, 3)))


def test_embedding_target_dot_and_cosine_hand_computed() -> None:
    torch.manual_seed(0)
    model, x, d = LinearEmbedder().eval(), torch.randn(2, 2, 5, 5), torch.randn(4)
    emb = model(x).detach()
    torch.testing.assert_close(EmbeddingTarget(d, "dot")(emb), emb @ d)
    torch.testing.assert_close(EmbeddingTarget(d)(emb), (emb @ d) / (emb.norm(dim=1) * d.norm()))
    # dot target: d score / d A_c(p) = (proj^T d)_c / HW, so Grad-CAM = sum_c (proj^T d)_c / HW * A_c
    res = netloupe.explain(model, x, "gradcam", EmbeddingTarget(d, "dot"), "features", normalize=False, relu=False)
    w = (model.proj.weight.T @ d) / 25
    expected = torch.einsum("c,nchw->nhw", w, model.features(x)).detach()
    torch.testing.assert_close(res.maps["gradcam"][:, 0], expected)
    with pytest.raises(TargetError, match="4 dimensions, the direction has 3"):
        netloupe.explain(model, x, "gradcam", EmbeddingTarget(torch.randn(3)), "features")


def test_segmentation_target_hand_computed_2d_and_3d() -> None:
    for dims in (2, 3):
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        torch.manual_seed(1)
        model = nn.Sequential(conv(1, 3, 1), conv(3, 2, 1)).eval()  # features, then 2-class per-pixel logits
        size = (6,) * dims
        x = torch.randn(2, 1, *size)
        mask = torch.zeros(size, dtype=torch.bool)
        mask[(slice(1, 3),) * dims] = True
        logits = model(x).detach()
        torch.testing.assert_close(SegmentationTarget(1, mask)(logits), (logits[:, 1] * mask).flatten(1).sum(1))
        res = netloupe.explain(model, x, "gradcam", SegmentationTarget(1, mask), "0", normalize=False, relu=False)
        # d score / d A_c(p) = W1[1, c] on the mask, 0 elsewhere: Grad-CAM weight W1[1, c] * |mask| / |S|
        w = model[1].weight.reshape(2, 3)[1] * mask.sum() / mask.numel()
        expected = torch.einsum("c,nc...->n...", w, model[0](x)).detach()
        torch.testing.assert_close(res.maps["gradcam"][:, 0], expected)
        predicted = SegmentationTarget(0)(logits)
        torch.testing.assert_close(predicted, (logits[:, 0] * (logits.argmax(1) == 0)).flatten(1).sum(1))


class TinyUNet(nn.Module):
    """A 2-level UNet (2-D or 3-D): the real use of the segmentation target on an encoder-decoder."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.enc = nn.Sequential(conv(1, 4, 3, padding=1), nn.ReLU())
        self.down = nn.Sequential(conv(4, 8, 3, stride=2, padding=1), nn.ReLU())
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec = nn.Sequential(conv(12, 4, 3, padding=1), nn.ReLU())
        self.head = conv(4, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.enc(x)
        return self.head(self.dec(torch.cat([e, self.up(self.down(e))], 1)))


@pytest.mark.parametrize("dims", [2, 3])
def test_unet_segmentation_maps_have_the_input_size(dims: int) -> None:
    model = TinyUNet(dims).eval()
    x = torch.randn(2, 1, *(8,) * dims)
    res = netloupe.explain(model, x, ["gradcam", "layercam"], SegmentationTarget(2), "down")
    assert res.maps["gradcam"].shape == (2, 1, *(8,) * dims)
    assert res.layer_info[0].layout == "channels-first"
    assert torch.isfinite(res.maps["layercam"]).all()


@pytest.fixture(scope="module")
def detectors():  # type: ignore[no-untyped-def]
    tv = pytest.importorskip("torchvision.models.detection")
    torch.manual_seed(0)
    small = {"weights": None, "weights_backbone": None, "num_classes": 3, "min_size": 96, "max_size": 96}
    faster = tv.fasterrcnn_mobilenet_v3_large_fpn(box_score_thresh=0.0, **small).eval()
    retina = tv.retinanet_resnet50_fpn(score_thresh=0.0, **small).eval()
    return {"fasterrcnn": (faster, "model.backbone.body"), "retinanet": (retina, "model.backbone.body.layer4")}


@pytest.mark.parametrize("name", ["fasterrcnn", "retinanet"])
def test_box_score_target_on_torchvision_detectors(detectors, name: str) -> None:  # type: ignore[no-untyped-def]
    model, layer = detectors[name]
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        det = model(x)[0]
    label = int(det["labels"][0])
    box = det["boxes"][0]
    target = BoxScoreTarget(box, label, iou_threshold=0.5)
    with torch.no_grad():
        torch.testing.assert_close(target(model(x)), det["scores"][:1])  # the matched box is the box itself
    far = BoxScoreTarget(torch.tensor([0.0, 0.0, 1.0, 1.0]), label, iou_threshold=0.9)
    with torch.no_grad():
        assert float(far(model(x))[0]) == 0.0  # no prediction matches: score 0
    wrapped = TargetOutputs(model, target)
    if name == "fasterrcnn":
        layer = "model.backbone.body.16"  # the last feature map of the MobileNet body
    res = netloupe.explain(wrapped, x, "gradcam", lambda out: out[:, 0], layer)
    assert res.maps["gradcam"].shape == (1, 1, 96, 96)
    assert torch.isfinite(res.maps["gradcam"]).all()
    assert float(res.scores[0, 0]) == pytest.approx(float(det["scores"][0]))


def test_box_score_target_reaches_a_raw_detector_through_output_selection(detectors) -> None:  # type: ignore[no-untyped-def]
    """No wrapper: the detector's list of dicts reaches BoxScoreTarget / a callable as is, same maps as wrapped."""
    model, _ = detectors["fasterrcnn"]
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        det = model(x)[0]
    target = BoxScoreTarget(det["boxes"][0], int(det["labels"][0]))
    raw = netloupe.explain(model, x, "gradcam", target, "backbone.body.16")
    wrapped = netloupe.explain(
        TargetOutputs(model, target), x, "gradcam", lambda out: out[:, 0], "model.backbone.body.16"
    )
    assert float(raw.scores[0, 0]) == pytest.approx(float(det["scores"][0]))
    torch.testing.assert_close(raw.logits, raw.scores)  # a structured output's "logits" are the target scores
    torch.testing.assert_close(raw.maps["gradcam"], wrapped.maps["gradcam"])
    assert float(raw.maps["gradcam"].amax()) == pytest.approx(1.0)  # a real, non-empty map
    top = netloupe.explain(model, x, "gradcam", [lambda dets: torch.stack([d["scores"][0] for d in dets]), target],
                           "backbone.body.16")  # fmt: skip
    torch.testing.assert_close(top.scores[0], torch.stack([det["scores"][0], det["scores"][0]]))


class DictPerImage(nn.Module):
    """A toy detector-like model: one dict per image, {"score": mean of a 1x1 conv's channel 0}."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(2, 3, 1)

    def forward(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        f = self.features(x)
        return [{"score": f[i, 0].mean() + f[i, 1].amax()} for i in range(x.shape[0])]


def test_callable_target_on_structured_output_in_every_pass() -> None:
    """Perturbation methods' extra passes read the structured output the same way as the shared pass."""
    torch.manual_seed(3)
    model, x = DictPerImage().eval(), torch.randn(3, 2, 6, 6)

    def target(dets: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        return torch.stack([d["score"] for d in dets])

    raw = netloupe.explain(model, x, ["gradcam", "scorecam"], target, "features")
    wrapped = netloupe.explain(
        TargetOutputs(model, target), x, ["gradcam", "scorecam"], lambda o: o[:, 0], "model.features"
    )
    for m in ("gradcam", "scorecam"):
        torch.testing.assert_close(raw.maps[m], wrapped.maps[m])
    with torch.no_grad():
        torch.testing.assert_close(raw.scores[:, 0], target(model(x)))
    with pytest.raises(TargetError, match="returned a float"):
        netloupe.explain(model, x, "gradcam", lambda dets: 1.0, "features")
