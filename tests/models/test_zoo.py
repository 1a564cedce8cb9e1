"""The default model reproduces the original EfficientNet-Lite0, and loading is safe and offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests._tiny import small_cnn
from torch import nn

import netloupe
from netloupe.errors import ModelLoadError
from netloupe.models import ImagePreprocess, imagenet_class_names


@pytest.fixture(scope="module")
def default_model() -> netloupe.LoadedModel:
    return netloupe.load_model()


def test_default_model_equals_the_original_implementation(default_model) -> None:  # type: ignore[no-untyped-def]
    original = pytest.importorskip("efficientnet_lite_pytorch")
    from netloupe.models.efficientnet_lite import weights_path

    ref = original.EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights_path()).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        diff = (default_model.model(x) - ref(x)).abs().max().item()
    assert diff <= 1e-5


def test_default_model_classifies_real_photos(default_model) -> None:  # type: ignore[no-untyped-def]
    from netloupe.demo.images import demo_photo

    x = default_model.preprocess.batch([demo_photo("chelsea.png"), demo_photo("coffee.png")])
    with torch.no_grad():
        top = default_model.model(x).argmax(1).tolist()
    assert [default_model.class_names[i] for i in top] == ["Egyptian cat", "espresso"]


def test_preprocess_resizes_the_whole_image_to_minus_one_one() -> None:
    pre = ImagePreprocess(size=(4, 6), mean=(127 / 255,) * 3, std=(128 / 255,) * 3)
    white = np.full((10, 30, 3), 255, dtype=np.uint8)
    black = np.zeros((10, 30, 3), dtype=np.uint8)
    assert pre(white).shape == (3, 4, 6)
    torch.testing.assert_close(pre(white), torch.full((3, 4, 6), 128 / 128))
    torch.testing.assert_close(pre(black), torch.full((3, 4, 6), -127 / 128))


def test_imagenet_names() -> None:
    names = imagenet_class_names()
    assert len(names) == 1000 and names[281] == "tabby" and names[285] == "Egyptian cat"


def test_unknown_name_suggests(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="efficientnet-lite0"):
        netloupe.load_model("efficientnet-lite")


def test_arch_with_checkpoint_and_missing_checkpoint(tmp_path: Path) -> None:
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=7)
    torch.save(net.state_dict(), tmp_path / "r18.pt")
    loaded = netloupe.load_model(arch="resnet18", checkpoint=tmp_path / "r18.pt")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), net.eval()(x))
    assert len(loaded.class_names) == 7
    with pytest.raises(ModelLoadError, match="never downloads"):
        netloupe.load_model(arch="resnet18")
    with pytest.raises(ModelLoadError, match="does not fit"):
        netloupe.load_model(arch="resnet34", checkpoint=tmp_path / "r18.pt")


def test_torchscript_file_loads(tmp_path: Path) -> None:
    net = small_cnn(2).eval()
    torch.jit.save(torch.jit.script(net), tmp_path / "net.ts")
    loaded = netloupe.load_model(tmp_path / "net.ts")
    x = torch.randn(1, 3, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), net(x))


def test_full_pickle_needs_explicit_trust(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2))
    torch.save(net, tmp_path / "full.pt")
    with pytest.raises(ModelLoadError, match="trust"):
        netloupe.load_model(tmp_path / "full.pt")
    assert isinstance(netloupe.load_model(tmp_path / "full.pt", trust_pickle=True).model, nn.Sequential)


def test_user_module_is_wrapped() -> None:
    loaded = netloupe.load_model(small_cnn(2, classes=4), class_names=list("abcd"))
    assert loaded.class_names == ["a", "b", "c", "d"] and loaded.name == "custom"


def test_torchscript_models_get_a_clear_error_for_cams(tmp_path: Path) -> None:
    from netloupe.errors import MethodNotApplicable

    torch.jit.save(torch.jit.script(small_cnn(2).eval()), tmp_path / "net.ts")
    loaded = netloupe.load_model(tmp_path / "net.ts")
    for layer in [None, "6"]:
        with pytest.raises(MethodNotApplicable, match="TorchScript"):
            netloupe.explain(loaded.model, torch.randn(1, 3, 10, 10), "gradcam", layer=layer)


def test_load_model_leaves_the_callers_training_flags_alone() -> None:
    """Issue 16 item 9: wrapping a module must not switch the caller's module to eval mode."""
    module = small_cnn(2, classes=4).train()
    module[1].eval()  # a frozen BatchNorm inside a training model: a mixed state to keep
    flags = [m.training for m in module.modules()]
    loaded = netloupe.load_model(module, class_names=list("abcd"))
    assert loaded.model is module
    assert [m.training for m in module.modules()] == flags


def test_files_that_are_not_models_are_named_for_what_they_are(tmp_path: Path) -> None:
    """Issue 16 items 3 and 8: a text file is not 'a full pickle'; a non-torch pickle fails cleanly even trusted."""
    import pickle

    text = tmp_path / "readme.pt"
    text.write_text("# notes saved under the wrong name\n")
    for trust in (False, True):
        with pytest.raises(ModelLoadError, match="not a model file") as exc:
            netloupe.load_model(text, trust_pickle=trust)
        assert "full pickle" not in str(exc.value)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ModelLoadError, match=r"torch\.save"):
        netloupe.load_model(plain, trust_pickle=True)
