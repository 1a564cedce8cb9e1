"""Agreement with independent implementations (pytorch-grad-cam, TorchCAM, Captum), test-only deps.

Same model, layer, class and input: the maps must correlate >= 0.99 where the method is the same.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests._tiny import small_cnn

import netloupe

LAYER = "6"


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel())[0, 1])


@pytest.fixture(scope="module")
def setup() -> tuple[torch.nn.Module, torch.Tensor, list[int]]:
    torch.manual_seed(7)
    model = small_cnn(2, inplace=False).eval()
    x = torch.randn(3, 3, 16, 16)
    classes = [0, 3, 1]
    return model, x, classes


PGC = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "hirescam": "HiResCAM",
    "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
}


@pytest.mark.parametrize("method", list(PGC))
def test_pytorch_grad_cam(setup, method: str) -> None:  # type: ignore[no-untyped-def]
    pgc = pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, x, classes = setup
    cam = getattr(pgc, PGC[method])(model=model, target_layers=[model[int(LAYER)]])
    theirs = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])
    ours = netloupe.explain(model, x, method, classes, layer=LAYER).maps[method][:, 0].numpy()
    for i in range(len(classes)):
        if np.ptp(theirs[i]) == 0 and np.ptp(ours[i]) == 0:
            continue
        assert _corr(ours[i], theirs[i]) >= 0.99, (method, i)


def test_eigencam_matches_pytorch_grad_cam_projection_up_to_sign(setup) -> None:  # type: ignore[no-untyped-def]
    svd = pytest.importorskip("pytorch_grad_cam.utils.svd_on_activations")
    model, x, _ = setup
    acts = model[: int(LAYER) + 1](x).detach().numpy()
    theirs = svd.get_2d_projection(acts)
    ours = netloupe.explain(model, x, "eigencam", layer=LAYER, upsample=False, relu=False, normalize=False)
    for i in range(x.shape[0]):
        assert abs(_corr(ours.maps["eigencam"][i, 0].numpy(), theirs[i])) >= 0.999


# TorchCAM's GradCAMpp is left out on purpose: its alpha divides by sum_ab A_ab g3_ab, whereas
# Chattopadhyay et al. 2018, Eq. 19 (and pytorch-grad-cam, and netloupe) use sum_ab A_ab * g3_ij.
TORCHCAM = {
    "cam": "CAM",
    "gradcam": "GradCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "scorecam": "ScoreCAM",
}


@pytest.mark.parametrize("method", list(TORCHCAM))
def test_torchcam(setup, method: str) -> None:  # type: ignore[no-untyped-def]
    methods = pytest.importorskip("torchcam.methods")
    model, x, classes = setup
    # CAM as published has no ReLU (Zhou et al. 2016); TorchCAM follows that, netloupe makes it optional.
    relu = method != "cam"
    ours = netloupe.explain(model, x, method, classes, layer=LAYER, upsample=False, relu=relu).maps[method][:, 0]
    for i, c in enumerate(classes):
        kwargs = {"fc_layer": "9"} if method == "cam" else {}
        extractor = getattr(methods, TORCHCAM[method])(model, target_layer=LAYER, **kwargs)
        try:
            with torch.set_grad_enabled(method != "cam" and method != "scorecam"):
                out = model(x[i : i + 1])
            theirs = extractor(c, out)[0][0]
        finally:
            extractor.remove_hooks()
        if theirs.std() == 0 and ours[i].std() == 0:
            continue
        assert _corr(ours[i].numpy(), theirs.detach().numpy()) >= 0.99, (method, i)


def test_captum_layer_gradcam(setup) -> None:  # type: ignore[no-untyped-def]
    captum_attr = pytest.importorskip("captum.attr")
    model, x, classes = setup
    lgc = captum_attr.LayerGradCam(model, model[int(LAYER)])
    theirs = lgc.attribute(x, target=classes, relu_attributions=False).detach()[:, 0]
    ours = netloupe.explain(model, x, "gradcam", classes, layer=LAYER, upsample=False, relu=False, normalize=False)
    torch.testing.assert_close(ours.maps["gradcam"][:, 0], theirs, rtol=1e-4, atol=1e-6)


def test_default_model_agrees_with_pytorch_grad_cam_on_a_real_photo() -> None:
    pgc = pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from netloupe.demo.images import demo_photo

    loaded = netloupe.load_model()
    x = loaded.preprocess.batch([demo_photo("chelsea.png")])
    ours = netloupe.explain(loaded.model, x, ["gradcam", "gradcam++"], 285, layer="bn2")
    for method, cls in [("gradcam", pgc.GradCAM), ("gradcam++", pgc.GradCAMPlusPlus)]:
        theirs = cls(model=loaded.model, target_layers=[loaded.model.bn2])(
            input_tensor=x, targets=[ClassifierOutputTarget(285)]
        )
        assert _corr(ours.maps[method][0, 0].numpy(), theirs[0]) >= 0.99
