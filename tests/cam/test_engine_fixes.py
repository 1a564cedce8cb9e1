"""Engine fixes, each checked on values: repeated modules, the input-error filter, batched top-k,
model outputs of every shape, progress/cancel, compiled models and inference mode."""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from typing import Any

import pytest
import torch
from tests._tiny import small_cnn
from torch import Tensor, nn

import netloupe
from netloupe import TopK
from netloupe.cam._capture import call_model, target_gradients
from netloupe.cam._outputs import select_output
from netloupe.errors import Cancelled, InputError, MethodNotApplicable

W = torch.tensor([[1.0, -2.0, 0.5, 3.0], [-1.0, 1.0, 2.0, -0.5]])


class TwiceNet(nn.Module):
    """``shared`` (a ReLU) runs twice: on ``h = conv(x)`` and on ``2h - 1``; y = W [mean(a); mean(b)].

    With A = relu(h) (call 0) and B = relu(2h - 1) (call 1), ``dy_k / dA_c = W[k, c] / HW`` and
    ``dy_k / dB_c = W[k, 2 + c] / HW`` everywhere, so Grad-CAM is ``sum_c W[k, c] A_c / HW`` at call 0 and
    ``sum_c W[k, 2 + c] B_c / HW`` at call 1.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.shared = nn.ReLU()
        self.fc = nn.Linear(4, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
            self.fc.weight.copy_(W)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv(x)
        a = self.shared(h)
        b = self.shared(2 * h - 1)
        return self.fc(torch.cat([a.mean((2, 3)), b.mean((2, 3))], 1))


def _calls(x: Tensor) -> tuple[Tensor, Tensor]:
    h = torch.cat([x, -x], 1)
    return h.clamp(min=0), (2 * h - 1).clamp(min=0)


RAW = {"normalize": False, "relu": False}


@pytest.mark.parametrize(("layer", "call"), [("shared@0", 0), ("shared@1", 1), ("shared@-2", 0), ("shared@-1", 1)])
def test_a_module_called_twice_is_explained_at_the_named_call(layer: str, call: int) -> None:
    x = torch.randn(3, 1, 4, 5)
    acts = _calls(x)[call]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a named call never warns
        res = netloupe.explain(TwiceNet(), x, ["gradcam", "eigencam", "ablationcam"], TopK(2), layer=layer, **RAW)
    assert res.layers == [layer]
    ids = res.class_ids
    assert ids is not None
    weights = W[:, 2 * call : 2 * call + 2][ids] / 20  # (N, K, C)
    expected = torch.einsum("nkc,nchw->nkhw", weights, acts)
    torch.testing.assert_close(res.maps["gradcam"], expected)
    # Ablation-CAM zeroes channel c at that call only: y - y_c = W[k, c] mean(A_c), w_c = that / y.
    y = res.scores
    w_abl = W[:, 2 * call : 2 * call + 2][ids] * acts.mean((2, 3))[:, None, :] / y[:, :, None]
    torch.testing.assert_close(res.maps["ablationcam"], torch.einsum("nkc,nchw->nkhw", w_abl, acts))
    # Eigen-CAM sees that call's activations: the same map as on a model that returns them directly.
    ref = netloupe.explain(nn.Sequential(nn.Identity()), acts, "eigencam", lambda o: o.sum((1, 2, 3)), layer="0", **RAW)
    torch.testing.assert_close(res.maps["eigencam"][:, :1], ref.maps["eigencam"])


def test_an_unnamed_call_of_a_repeated_module_warns_and_uses_the_last() -> None:
    x = torch.randn(2, 1, 4, 4)
    with pytest.warns(UserWarning, match=r"'shared' ran 2 times.*last call \(index 1\).*shared@0"):
        res = netloupe.explain(TwiceNet(), x, "gradcam", 0, layer="shared", **RAW)
    last = netloupe.explain(TwiceNet(), x, "gradcam", 0, layer="shared@1", **RAW)
    torch.testing.assert_close(res.maps["gradcam"], last.maps["gradcam"])
    with pytest.raises(InputError, match=r"asks for call 2 but the module ran 2 times"):
        netloupe.explain(TwiceNet(), x, "gradcam", 0, layer="shared@2")


def test_the_automatic_layer_takes_the_last_call_without_a_warning() -> None:
    x = torch.randn(2, 1, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = netloupe.explain(TwiceNet(), x, "gradcam", 0, **RAW)
    named = netloupe.explain(TwiceNet(), x, "gradcam", 0, layer="shared@1", **RAW)
    torch.testing.assert_close(res.maps["gradcam"], named.maps["gradcam"])


def test_torchvision_basic_block_relu() -> None:
    torchvision = pytest.importorskip("torchvision")
    model, x = torchvision.models.resnet18(num_classes=4), torch.randn(1, 3, 64, 64)
    with pytest.warns(UserWarning, match=r"'layer4.1.relu' ran 2 times"):
        last = netloupe.explain(model, x, "gradcam", 0, layer="layer4.1.relu", **RAW).maps["gradcam"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = netloupe.explain(model, x, "gradcam", 0, layer="layer4.1.relu@0", **RAW).maps["gradcam"]
        again = netloupe.explain(model, x, "gradcam", 0, layer="layer4.1.relu@1", **RAW).maps["gradcam"]
    torch.testing.assert_close(last, again)
    assert not torch.allclose(first, last)


def test_module_called_once_needs_no_index_and_refuses_a_second() -> None:
    x = torch.randn(1, 3, 10, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = netloupe.explain(small_cnn(2), x, "gradcam", layer="3").maps["gradcam"]
    torch.manual_seed(0)
    model = small_cnn(2)
    torch.manual_seed(0)
    again = small_cnn(2)
    torch.testing.assert_close(
        netloupe.explain(model, x, "gradcam", layer="3@0").maps["gradcam"],
        netloupe.explain(again, x, "gradcam", layer="3").maps["gradcam"],
    )
    assert plain.shape == (1, 1, 10, 10)
    with pytest.raises(InputError, match="ran 1 time in"):
        netloupe.explain(model, x, "gradcam", layer="3@1")


# -- call_model: only input mismatches become InputError -------------------------------------------


class Raises(nn.Module):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def forward(self, x: Tensor) -> Tensor:
        raise self.exc


def test_input_mismatches_become_input_errors() -> None:
    model = small_cnn(2, in_ch=3)
    with pytest.raises(InputError, match=r"shape \(1, 1, 8, 8\).*to have 3 channels"):
        call_model(model, torch.zeros(1, 1, 8, 8))
    with pytest.raises(InputError, match="float64"):
        call_model(model, torch.zeros(1, 3, 8, 8, dtype=torch.float64))
    with pytest.raises(InputError, match="cannot be multiplied"):
        call_model(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), torch.zeros(1, 3, 2, 3, 2))


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("a bug in the model"),
        ValueError("bad configuration"),
        TypeError("unsupported operand"),
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        InputError("netloupe's own error"),
        KeyError("x"),
    ],
)
def test_other_errors_propagate_unchanged(exc: BaseException) -> None:
    with pytest.raises(type(exc)) as info:
        call_model(Raises(exc), torch.zeros(1, 3, 8, 8))
    assert info.value is exc


def test_out_of_memory_is_not_an_input_error_through_explain() -> None:
    class OomAfterConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 1)

        def forward(self, x: Tensor) -> Tensor:
            self.conv(x)
            raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        netloupe.explain(OomAfterConv(), torch.zeros(1, 3, 4, 4), "gradcam", layer="conv")


# -- top-k: one batched backward, equal to K backward passes ---------------------------------------


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_batched_topk_gradients_equal_the_loop(dims: int) -> None:
    model = small_cnn(dims, inplace=False).eval()
    size = {1: (3, 16), 2: (3, 12, 12), 3: (3, 6, 6, 6)}[dims]
    x = torch.randn(3, *size)
    with torch.no_grad():
        feats = model[:4](x)
    leaf = feats.clone().requires_grad_(True)
    unused = torch.zeros(3, 2, requires_grad=True)
    scores = model[4:](leaf)[:, [4, 0, 2, 1]]
    by_hand = [torch.autograd.grad(scores[:, k].sum(), leaf, retain_graph=True)[0] for k in range(4)]
    batched = target_gradients(scores, [leaf, unused], batched=True)
    loop = target_gradients(scores, [leaf, unused], batched=False)  # frees the graph: last
    assert batched[0].shape == (3, 4, *feats.shape[1:])
    for k in range(4):  # one plain backward per target
        torch.testing.assert_close(batched[0][:, k], by_hand[k], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(batched[0], loop[0], rtol=1e-5, atol=1e-6)
    assert batched[1].shape == loop[1].shape == (3, 4, 2)
    assert not batched[1].any() and not loop[1].any()  # unused: zeros


def test_topk_falls_back_to_the_loop_when_vmap_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    model, x = small_cnn(2), torch.randn(2, 3, 10, 10)
    ref = netloupe.explain(model, x, ["gradcam", "layercam"], TopK(3), **RAW).maps
    real = torch.autograd.grad
    batched_calls = []

    def no_vmap(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("is_grads_batched"):
            batched_calls.append(1)
            raise RuntimeError("vmap: no batching rule for this op")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", no_vmap)
    got = netloupe.explain(model, x, ["gradcam", "layercam"], TopK(3), **RAW).maps
    assert batched_calls
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Full backward hook")
def test_topk_runs_one_backward() -> None:
    model, x = small_cnn(2, inplace=False), torch.randn(2, 3, 10, 10)
    backwards = []
    model[5].register_full_backward_hook(lambda *_: backwards.append(1))
    netloupe.explain(model, x, "gradcam", TopK(4), layer="5")
    assert len(backwards) == 1


# -- model outputs -----------------------------------------------------------------------------------


class FakeModelOutput(OrderedDict):  # type: ignore[type-arg]
    """What Hugging Face's ModelOutput is: an OrderedDict with attribute access."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class Wrapped(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.net = small_cnn(2)
        self.kind = kind

    def forward(self, x: Tensor) -> object:
        logits = self.net(x)
        hidden = logits * 0 + 1
        if self.kind == "dict":
            return {"hidden": hidden, "logits": logits}
        if self.kind == "ordered":
            return OrderedDict(aux=hidden, logits=logits)
        if self.kind == "tuple":
            return (logits, hidden)
        return FakeModelOutput(loss=None, logits=logits, hidden_states=hidden)


@pytest.mark.parametrize("kind", ["dict", "ordered", "tuple", "model_output"])
@pytest.mark.parametrize("methods", [["gradcam", "scorecam", "ablationcam"], ["smoothgradcam++"]])
def test_outputs_of_every_shape_give_the_tensor_model_maps(kind: str, methods: list[str]) -> None:
    wrapped, x = Wrapped(kind), torch.randn(2, 3, 10, 10)
    opts = {"method_kwargs": {"smoothgradcam++": {"n_samples": 2}}, **RAW}
    got = netloupe.explain(wrapped, x, methods, TopK(2), layer="net.5", **opts)
    ref = netloupe.explain(wrapped.net, x, methods, TopK(2), layer="5", **opts)
    torch.testing.assert_close(got.logits, ref.logits)
    for name in methods:
        torch.testing.assert_close(got.maps[name], ref.maps[name])


def test_output_key_picks_another_output_and_missing_keys_are_listed() -> None:
    x = torch.randn(2, 3, 10, 10)
    wrapped = Wrapped("dict")
    res = netloupe.explain(wrapped, x, "gradcam", 0, layer="net.5", output="logits")
    assert res.logits.shape == (2, 5)
    with pytest.raises(InputError, match=r"no key 'scores'.*'hidden', 'logits'"):
        netloupe.explain(wrapped, x, "gradcam", 0, layer="net.5", output="scores")
    with pytest.raises(InputError, match=r"keys 'a', 'b' and no 'logits'.*output=KEY"):
        select_output({"a": torch.zeros(1), "b": torch.zeros(1)})
    assert select_output(FakeModelOutput(loss=None, logits=torch.ones(1, 2)), 1).shape == (1, 2)
    assert select_output((torch.zeros(1), torch.ones(3)), -1).shape == (3,)
    with pytest.raises(InputError, match="index 2 is out of range; the model returned a tuple of 2"):
        select_output((torch.zeros(1), torch.ones(3)), 2)
    with pytest.raises(InputError, match=r"key 'loss'.*NoneType"):
        select_output(FakeModelOutput(loss=None, logits=torch.ones(1, 2)), "loss")


def test_huggingface_classifier_built_from_a_config() -> None:
    transformers = pytest.importorskip("transformers")  # optional: FakeModelOutput above covers the protocol
    config = transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3)
    model, x = transformers.ResNetForImageClassification(config).eval(), torch.randn(2, 3, 32, 32)
    res = netloupe.explain(model, x, ["gradcam", "scorecam"], TopK(2), **RAW)
    with torch.no_grad():
        torch.testing.assert_close(res.logits, model(x).logits)
    assert res.maps["gradcam"].shape == (2, 2, 32, 32)
    # The same maps as a plain tensor-returning wrapper of the same model.
    plain = nn.Sequential()
    plain.inner = model
    plain.forward = lambda t: model(t).logits  # type: ignore[method-assign]
    ref = netloupe.explain(plain, x, ["gradcam", "scorecam"], TopK(2), layer="inner." + res.layers[0], **RAW)
    for name in res.maps:
        torch.testing.assert_close(res.maps[name], ref.maps[name])


# -- progress and cancellation -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "batches"), [("scorecam", 1 + 4), ("ablationcam", 4), ("smoothgradcam++", 1)])
def test_on_pass_counts_every_batch_of_extra_passes(method: str, batches: int) -> None:
    # Layer "5" of the 2-D small_cnn: 16 channels, all live for this input; 2 samples, 8 per batch.
    model, x = small_cnn(2), torch.randn(2, 3, 10, 10) + 3
    seen: list[tuple[int, int]] = []
    netloupe.explain(model, x, method, layer="5", batch_size=8, on_pass=lambda d, t: seen.append((d, t)))
    assert seen == [(i, batches) for i in range(1, batches + 1)]


def test_gradient_methods_report_no_extra_pass() -> None:
    seen: list[tuple[int, int]] = []
    netloupe.explain(small_cnn(2), torch.randn(1, 3, 8, 8), "gradcam", on_pass=lambda d, t: seen.append((d, t)))
    assert seen == []


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.mark.parametrize("method", ["scorecam", "ablationcam", "smoothgradcam++"])
@pytest.mark.parametrize("flag", ["event", "callable"])
def test_cancel_after_the_first_batch_leaves_the_model_as_found(method: str, flag: str) -> None:
    model = small_cnn(2)
    model.train()
    model[1].eval()
    event = threading.Event()
    cancel = event if flag == "event" else event.is_set
    seen: list[int] = []

    def on_pass(done: int, total: int) -> None:
        seen.append(done)
        event.set()

    hooks = _hooks(model)
    with pytest.raises(Cancelled, match="cancelled after 1 of"):
        netloupe.explain(
            model, torch.randn(2, 3, 10, 10), method, layer="5", batch_size=4, on_pass=on_pass, cancel=cancel
        )
    assert seen == [1]
    assert _hooks(model) == hooks
    assert model.training and not model[1].training and model[3].training
    assert torch.is_grad_enabled()
    assert all(p.grad is None for p in model.parameters())


def test_cancel_set_before_the_call_runs_nothing() -> None:
    model = small_cnn(2)
    calls: list[int] = []
    model.register_forward_pre_hook(lambda *_: calls.append(1))
    with pytest.raises(Cancelled):
        netloupe.explain(model, torch.randn(1, 3, 8, 8), "gradcam", layer="5", cancel=lambda: True)
    assert calls == []


# -- torch.compile and inference mode ----------------------------------------------------------------


def test_compiled_model_explains_any_layer_in_turn() -> None:
    model, x = small_cnn(2), torch.randn(2, 3, 10, 10)
    compiled = torch.compile(model, backend="eager")
    compiled(x)  # a graph traced without hooks must not hide the hooks of later explanations
    for layer in ("5", "_orig_mod.3", "0", "_orig_mod.5"):
        name = layer.removeprefix("_orig_mod.")
        for method in ("gradcam", "eigencam"):
            got = netloupe.explain(compiled, x, method, TopK(2), layer=layer)
            want = netloupe.explain(model, x, method, TopK(2), layer=name)
            assert got.layers == [name]
            torch.testing.assert_close(got.maps[method], want.maps[method])


def test_inference_mode_is_named_for_gradient_methods() -> None:
    model, x = small_cnn(2), torch.randn(1, 3, 8, 8)
    with torch.inference_mode(), pytest.raises(MethodNotApplicable, match=r"inference_mode"):
        netloupe.explain(model, x, "gradcam", layer="5")
    with torch.inference_mode():
        inside = netloupe.explain(model, x, ["eigencam", "scorecam"], layer="5").maps
    outside = netloupe.explain(model, x, ["eigencam", "scorecam"], layer="5").maps
    for name in outside:
        torch.testing.assert_close(inside[name], outside[name])


def test_inputs_made_under_inference_mode_are_explained_outside_it() -> None:
    model = small_cnn(2)
    with torch.inference_mode():
        x = torch.randn(1, 3, 8, 8)
    res = netloupe.explain(model, x, "gradcam", layer="5")
    torch.testing.assert_close(
        res.maps["gradcam"], netloupe.explain(model, x.clone(), "gradcam", layer="5").maps["gradcam"]
    )
