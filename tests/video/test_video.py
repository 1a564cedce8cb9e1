"""Moving digits: trajectories, ground truth of the generated clips, the map scores, Grad-CAM wiring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from netloupe.errors import InputError
from netloupe.video.data import CLASSES, MOVE_FRAMES, make_video_set, trajectory
from netloupe.video.explain import conv3d_gradcam, frame_gradcam, pointing_game, score_maps, temporal_share
from netloupe.video.models import CNNLSTM, Conv3DNet
from netloupe.video.train import load_video_model, save_video_model


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_trajectories_follow_their_class() -> None:
    rng = np.random.default_rng(0)
    ltr = trajectory(CLASSES.index("left-to-right"), 32, rng)
    assert ltr[0, 1] == 0 and ltr[-1, 1] == 24 and len(set(ltr[:, 0])) == 1 and np.all(np.diff(ltr[:, 1]) == 3)
    btt = trajectory(CLASSES.index("bottom-to-top"), 32, rng)
    assert btt[0, 0] == 24 and btt[-1, 0] == 0 and len(set(btt[:, 1])) == 1
    bounce = trajectory(CLASSES.index("bounce"), 32, rng)
    assert bounce[0, 1] == bounce[-1, 1] == 0 and bounce[MOVE_FRAMES // 2, 1] == 24
    circle = trajectory(CLASSES.index("circle"), 32, rng)
    assert np.array_equal(circle[0], circle[-1])
    assert np.allclose(np.hypot(*(circle - 12).T), 9.6, atol=1.0)  # radius 0.8 * 12 around the centre
    with pytest.raises(InputError, match="label"):
        trajectory(6, 32, rng)


def test_clips_carry_their_ground_truth() -> None:
    data = make_video_set(24, seed=1, frames=12, noise=0.0)
    assert np.bincount(data.labels).tolist() == [4] * 6
    assert (data.moving.sum(1) == MOVE_FRAMES + 1).all()
    moved = np.any(data.boxes[:, 1:] != data.boxes[:, :-1], -1)
    inside_motion = data.moving[:, 1:] & data.moving[:, :-1]
    circle = data.labels == CLASSES.index("circle")
    # the box changes exactly between consecutive frames with the mover (a circle's step may round to the same corner)
    assert np.array_equal(moved[~circle], inside_motion[~circle])
    runs = np.diff(data.moving.astype(int), axis=1)
    assert ((runs == 1).sum(1) <= 1).all() and ((runs == -1).sum(1) <= 1).all()  # one contiguous run
    for i in range(len(data.labels)):
        for t in range(12):
            r0, c0, r1, c1 = data.boxes[i, t]
            d0, e0, d1, e1 = data.distractor_boxes[i]
            ink = data.videos[i, t] > 0
            inside = np.zeros_like(ink)
            inside[r0:r1, c0:c1] = True
            inside[d0:d1, e0:e1] = True
            assert not (ink & ~inside).any()  # every lit pixel belongs to the mover or the distractor
            if data.moving[i, t]:
                assert data.videos[i, t, r0:r1, c0:c1].max() > 0.5
            else:  # the mover is out of view: only the distractor is drawn
                assert not (ink[:, :] & ~_box_mask(data.distractor_boxes[i])).any()
        assert np.array_equal(data.videos[i, 0, d0:d1, e0:e1] > 0, data.videos[i, -1, d0:d1, e0:e1] > 0) or (
            np.abs(data.boxes[i, :, :2] - data.distractor_boxes[i, :2]).max(-1).min() < 8
        )  # the distractor never moves (unless the mover passes over it)


def _box_mask(box: np.ndarray) -> np.ndarray:
    mask = np.zeros((32, 32), bool)
    mask[box[0] : box[2], box[1] : box[3]] = True
    return mask


def test_pointing_game_and_temporal_share_values() -> None:
    maps = np.zeros((1, 3, 10, 10))
    maps[0, 0, 2, 2] = 1.0  # inside the box (1, 1, 4, 4): hit
    maps[0, 1, 6, 5] = 1.0  # two pixels below the box: hit only with tolerance 3
    maps[0, 2] = 0.5  # constant: miss
    boxes = np.array([[[1, 1, 4, 4]] * 3])
    assert pointing_game(maps, boxes, tolerance=0).tolist() == [[True, False, False]]
    assert pointing_game(maps, boxes, tolerance=3).tolist() == [[True, True, False]]
    share = temporal_share(maps, np.array([[True, False, False]]))
    assert share.tolist() == pytest.approx([1.0 / (1.0 + 1.0 + 50.0)])


def test_score_maps_perfect_and_distractor_maps() -> None:
    data = make_video_set(12, seed=2, frames=10, noise=0.0)
    exact = np.zeros(data.videos.shape)
    for i in range(12):
        for t in range(10):
            r0, c0 = data.boxes[i, t, :2]
            exact[i, t, r0 + 3, c0 + 3] = 1.0 if data.moving[i, t] else 0.1
    s = score_maps(exact, data)
    assert s["pointing_moving_frames"] == 1.0
    assert s["temporal_share_moving"] == pytest.approx(0.9 / (0.9 + 0.1 * 0.1))
    assert s["pointing_chance"] == pytest.approx(12 * 12 / 32**2)
    wrong = np.zeros(data.videos.shape)
    for i in range(12):
        d0, e0, _, _ = data.distractor_boxes[i]
        wrong[i, :, d0 + 3, e0 + 3] = 1.0
    assert score_maps(wrong, data)["pointing_on_distractor"] == 1.0


def test_frame_gradcam_matches_a_hook_based_reference() -> None:
    torch.manual_seed(0)
    model = CNNLSTM(6).eval()
    x = torch.rand(2, 5, 1, 32, 32)
    got = frame_gradcam(model, x, torch.tensor([1, 4]))
    feats: list[torch.Tensor] = []
    handle = model.features.register_forward_hook(lambda m, i, o: feats.append(o))
    try:
        for n, cls in enumerate([1, 4]):
            score = model(x[n : n + 1])[0, cls]
            (g,) = torch.autograd.grad(score, feats[-1])
            a = feats[-1].detach()
            for t in range(5):
                w = g[t].mean((1, 2))
                cam = torch.relu((w[:, None, None] * a[t]).sum(0))
                up = torch.nn.functional.interpolate(cam[None, None], size=(32, 32), mode="bilinear")[0, 0]
                assert torch.allclose(got[n, t], up, atol=1e-6)
    finally:
        handle.remove()
    assert model.training is False


def test_conv3d_gradcam_matches_a_manual_gradcam() -> None:
    torch.manual_seed(0)
    model = Conv3DNet(6).eval()
    x = torch.rand(2, 6, 1, 16, 16)
    got = conv3d_gradcam(model, x, torch.tensor([2, 5]))
    acts = model.features(x.permute(0, 2, 1, 3, 4)).detach().requires_grad_(True)
    logits = model.fc(model.pool(acts).flatten(1))
    (g,) = torch.autograd.grad(logits[0, 2] + logits[1, 5], acts)
    cam = torch.relu((g.mean((2, 3, 4), keepdim=True) * acts).sum(1, keepdim=True)).detach()
    up = torch.nn.functional.interpolate(cam, size=(6, 16, 16), mode="trilinear", align_corners=False)[:, 0]
    assert got.shape == (2, 6, 16, 16)
    assert torch.allclose(got, up, atol=1e-5 * float(up.max()) + 1e-7)


def test_video_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Conv3DNet(6).eval()
    again = load_video_model(save_video_model(model, tmp_path / "c.pt", 0))
    x = torch.rand(1, 1, 4, 16, 16)
    assert torch.allclose(model(x), again(x), atol=1e-2)


def test_cli_video_explain(tmp_path: Path) -> None:
    from importlib import resources

    import typer
    from typer.testing import CliRunner

    from netloupe.cli import video

    data = resources.files("netloupe.models").joinpath("data")
    if not (data.joinpath("video_cnn_lstm.pt").is_file() and data.joinpath("video_conv3d.pt").is_file()):
        pytest.skip("the shipped video models are absent")
    app = typer.Typer()
    video.register(app)
    out, arrays, gif = tmp_path / "s.png", tmp_path / "m.npz", tmp_path / "a.gif"
    res = CliRunner().invoke(
        app,
        ["video", "explain", "--label", "left-to-right", "--out", str(out), "--arrays", str(arrays), "--gif", str(gif)],
    )
    assert res.exit_code == 0, res.output
    assert "cnn_lstm: predicts left-to-right" in res.output and "conv3d: predicts left-to-right" in res.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 16 and im.size == (3 * 32 * 4, 32 * 4)
    saved = np.load(arrays)
    assert saved["conv3d"].shape == (16, 32, 32) and saved["moving"].sum() == MOVE_FRAMES + 1
    bad = CliRunner().invoke(app, ["video", "explain", "--label", "spin"])
    assert bad.exit_code == 2 and "label:" in bad.output


def test_frame_attribution_is_gradient_times_input_per_frame() -> None:
    from netloupe.video.explain import frame_attribution, temporal_scores

    torch.manual_seed(0)
    model = Conv3DNet(6).eval()
    x = torch.rand(1, 4, 1, 8, 8)
    got = frame_attribution(model, x, torch.tensor([3]))
    e = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(e.permute(0, 2, 1, 3, 4))[0, 3], e)
    assert torch.allclose(got[0], (g * x)[0].abs().sum((1, 2, 3)), atol=1e-7)
    s = temporal_scores(np.array([[0.0, 2.0, 2.0, 4.0]]), np.array([[False, False, True, True]]))
    assert s == {"temporal_share_moving": 0.75, "peak_frame_is_moving": 1.0, "temporal_share_chance": 0.5}
