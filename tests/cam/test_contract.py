"""One contract suite over every registered method."""

from __future__ import annotations

import gc

import pytest
import torch
from tests._tiny import NoGapNet, small_cnn
from torch import nn

import netloupe
from netloupe import TopK
from netloupe.errors import LayerNotFound, MethodNotApplicable, TargetError, UnknownMethod

ALL = netloupe.available_methods()
FAST = {"method_kwargs": {"smoothgradcam++": {"n_samples": 2}}}


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


def test_registry_names_are_lower_case_and_complete() -> None:
    assert ALL == [
        "cam",
        "gradcam",
        "gradcam++",
        "xgradcam",
        "layercam",
        "hirescam",
        "smoothgradcam++",
        "scorecam",
        "ablationcam",
        "eigencam",
        "counterfactual",
    ]


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_shape_range_and_no_nan(method: str, dims: int) -> None:
    model = small_cnn(dims)
    size = {1: (3, 16), 2: (3, 12, 12), 3: (3, 6, 6, 6)}[dims]
    x = torch.randn(2, *size)
    res = netloupe.explain(model, x, method, TopK(2), **FAST)
    m = res.maps[method]
    assert m.shape == (2, 2, *size[1:])
    assert m.dtype == torch.float32 and m.device == x.device
    assert not torch.isnan(m).any()
    assert m.min() >= 0 and m.max() <= 1


@pytest.mark.parametrize("method", ALL)
def test_batch_equals_one_by_one(method: str) -> None:
    model = small_cnn(2)
    x = torch.randn(3, 3, 10, 10)
    batch = netloupe.explain(model, x, method, TopK(2), normalize=False, relu=False, **FAST).maps[method]
    for i in range(3):
        single = netloupe.explain(model, x[i : i + 1], method, TopK(2), normalize=False, relu=False, **FAST)
        torch.testing.assert_close(batch[i], single.maps[method][0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", ALL)
def test_model_left_as_found(method: str) -> None:
    model = small_cnn(2)
    model.train()
    model[1].eval()  # a mixed state must survive
    model[0].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hooks = _hook_count(model)
    netloupe.explain(model, torch.randn(2, 3, 10, 10), method, **FAST)
    assert model.training and not model[1].training and model[3].training
    assert not model[0].weight.requires_grad and model[3].weight.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert _hook_count(model) == hooks
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k])  # BatchNorm running stats untouched


@pytest.mark.parametrize("method", ALL)
def test_hooks_removed_after_an_exception(method: str) -> None:
    model = small_cnn(2)
    hooks = _hook_count(model)
    with pytest.raises(TargetError):
        netloupe.explain(model, torch.randn(1, 3, 10, 10), method, 99)
    assert _hook_count(model) == hooks
    assert torch.is_grad_enabled()


def test_one_pass_serves_many_methods_and_classes() -> None:
    model = small_cnn(2)
    calls = {"n": 0}
    model.register_forward_pre_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    res = netloupe.explain(
        model,
        torch.randn(2, 3, 10, 10),
        ["gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "cam", "eigencam"],
        TopK(3),
    )
    assert calls["n"] == 2  # one automatic-layer probe (cached afterwards) + the shared pass
    assert set(res.maps) == {"gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "cam", "eigencam"}
    netloupe.explain(model, torch.randn(2, 3, 10, 10), ["gradcam", "layercam"], TopK(3))
    assert calls["n"] == 3


def test_many_methods_at_once_equal_each_method_alone() -> None:
    """The shared post-processing (one resize + normalisation for all methods) changes no value."""
    model, x = small_cnn(2), torch.randn(2, 3, 10, 10)
    methods = ["gradcam", "gradcam++", "layercam", "cam", "eigencam"]
    for options in ({}, {"normalize": False}, {"relu": False, "normalize": False}, {"upsample": False}):
        together = netloupe.explain(model, x, methods, TopK(2), **options).maps
        storages = {together[m].untyped_storage().data_ptr() for m in methods}
        assert len(storages) == len(methods)  # each method's maps own their memory
        for method in methods:
            alone = netloupe.explain(model, x, method, TopK(2), **options).maps[method]
            torch.testing.assert_close(together[method], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["scorecam", "ablationcam"])
def test_perturbation_batch_size_changes_no_value(method: str) -> None:
    """However the extra passes are batched (the device's default, one at a time, odd chunks, all at once)."""
    model, x = small_cnn(2), torch.randn(2, 3, 10, 10)
    reference = netloupe.explain(model, x, method, TopK(2), batch_size=1).maps[method]
    for batch_size in (None, 5, 256):
        maps = netloupe.explain(model, x, method, TopK(2), batch_size=batch_size).maps[method]
        torch.testing.assert_close(maps, reference, rtol=1e-5, atol=1e-6)
    assert netloupe.cam.engine.perturbation_batch_size(torch.device("cpu")) >= 2


def test_no_graph_before_the_target_layer() -> None:
    # Parameters before the layer must receive no gradient path: autograd never records them.
    model = small_cnn(2)
    seen = []
    model[0].register_forward_hook(lambda _m, _i, o: seen.append(o.requires_grad))
    netloupe.explain(model, torch.randn(1, 3, 10, 10), "gradcam", layer="5")
    assert seen == [False]


def test_inplace_activation_after_target_layer() -> None:
    model = small_cnn(2, inplace=True)
    x = torch.randn(2, 3, 10, 10)
    ours = netloupe.explain(model, x, "gradcam", 1, layer="3", normalize=False, relu=False).maps["gradcam"]
    model_copy = small_cnn(2, inplace=False)
    model_copy.load_state_dict(model.state_dict())
    ref = netloupe.explain(model_copy, x, "gradcam", 1, layer="3", normalize=False, relu=False).maps["gradcam"]
    torch.testing.assert_close(ours, ref)


class InplaceAfterTarget(nn.Module):
    """``conv`` (the target) feeds a GAP + linear head; an in-place ReLU then runs on its output.

    The head sees the layer's true output (CAM applies), and anything that keeps a reference to the
    output instead of a copy sees it overwritten.
    """

    def __init__(self, inplace: bool = True) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
        self.conv = nn.Conv2d(6, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)
        self.act = nn.ReLU(inplace=inplace)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv(self.stem(x))
        logits = self.fc(a.mean((2, 3)))
        self.act(a)  # in place after the target layer (an auxiliary branch)
        return logits


@pytest.mark.parametrize("method", ALL)
def test_inplace_op_after_the_target_layer_changes_no_map(method: str) -> None:
    """Each method alone == together with Grad-CAM == the same model without the in-place op."""
    x = torch.randn(2, 3, 8, 8)
    model = InplaceAfterTarget(inplace=True)
    reference = InplaceAfterTarget(inplace=False)
    reference.load_state_dict(model.state_dict())
    opts = {"normalize": False, "relu": False, "layer": "conv", **FAST}
    alone = netloupe.explain(model, x, method, TopK(2), **opts).maps[method]
    together = netloupe.explain(model, x, [method, "gradcam"], TopK(2), **opts).maps[method]
    without = netloupe.explain(reference, x, method, TopK(2), **opts).maps[method]
    torch.testing.assert_close(alone, together, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(alone, without, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", [m for m in ALL if m != "cam"])  # cam needs the layer to feed the pool
def test_inplace_relu_on_the_main_path_changes_no_map(method: str) -> None:
    x = torch.randn(2, 3, 10, 10)
    model = small_cnn(2, inplace=True)
    opts = {"normalize": False, "relu": False, "layer": "3", **FAST}
    alone = netloupe.explain(model, x, method, TopK(2), **opts).maps[method]
    together = netloupe.explain(model, x, [method, "gradcam"], TopK(2), **opts).maps[method]
    reference = small_cnn(2, inplace=False)
    reference.load_state_dict(model.state_dict())
    without = netloupe.explain(reference, x, method, TopK(2), **opts).maps[method]
    torch.testing.assert_close(alone, together, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(alone, without, rtol=1e-5, atol=1e-6)


def test_no_memory_growth_over_many_calls() -> None:
    model = small_cnn(2)
    x = torch.randn(2, 3, 10, 10)

    def tensors() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))

    netloupe.explain(model, x, ["gradcam", "scorecam"])
    start = tensors()
    for _ in range(20):
        netloupe.explain(model, x, ["gradcam", "scorecam"])
    assert tensors() - start <= 2


def test_cam_refuses_a_model_without_gap_head() -> None:
    with pytest.raises(MethodNotApplicable, match="gradcam"):
        netloupe.explain(NoGapNet(), torch.randn(1, 3, 8, 8), "cam", layer="features")
    res = netloupe.explain(NoGapNet(), torch.randn(1, 3, 8, 8), "gradcam", layer="features")
    assert res.maps["gradcam"].shape == (1, 1, 8, 8)


def test_cam_needs_the_layer_feeding_the_pool() -> None:
    with pytest.raises(MethodNotApplicable, match="global average"):
        netloupe.explain(small_cnn(2), torch.randn(1, 3, 10, 10), "cam", layer="3")


def test_unknown_layer_and_method_suggest_names() -> None:
    with pytest.raises(LayerNotFound, match="closest: 'fc'"):
        netloupe.explain(NoGapNet(), torch.randn(1, 3, 8, 8), "gradcam", layer="fcc")
    with pytest.raises(UnknownMethod, match="closest: 'gradcam'"):
        netloupe.explain(NoGapNet(), torch.randn(1, 3, 8, 8), "gradcan")


def test_automatic_layer_is_last_spatial_one() -> None:
    res = netloupe.explain(small_cnn(2), torch.randn(1, 3, 10, 10), "gradcam")
    assert res.layers == ["6"]


def test_fused_layers_and_callable_targets() -> None:
    model = small_cnn(2)
    x = torch.randn(2, 3, 10, 10)
    res = netloupe.explain(
        model, x, "gradcam", [lambda out: out[:, 2], lambda out: out[:, 0] - out[:, 1]], layer=["2", "6"]
    )
    assert res.class_ids is None and res.maps["gradcam"].shape == (2, 2, 10, 10)
    single = netloupe.explain(model, x, "gradcam", 2, layer=["2", "6"]).maps["gradcam"][:, 0]
    torch.testing.assert_close(res.maps["gradcam"][:, 0], single)


def test_class_names_and_topk_labels() -> None:
    names = ["a", "b", "c", "d", "e"]
    res = netloupe.explain(small_cnn(2), torch.randn(2, 3, 10, 10), "gradcam", "C", class_names=names)
    assert res.labels() == [["c"], ["c"]]
    with pytest.raises(TargetError, match="closest"):
        netloupe.explain(small_cnn(2), torch.randn(1, 3, 10, 10), "gradcam", "cc", class_names=names)
    res = netloupe.explain(small_cnn(2), torch.randn(2, 3, 10, 10), "gradcam", TopK(3))
    order = res.probabilities.argsort(1, descending=True)[:, :3]
    assert torch.equal(res.class_ids, order)
