"""Moving digits: a synthetic action-recognition video set whose answer is known in space and time.

Each clip (T frames of S x S pixels) holds one *moving* digit from scikit-learn's bundled digits (UCI Optical
Recognition of Handwritten Digits, CC BY 4.0) whose motion pattern is the class, and distractors: a
second, *static* digit and Gaussian pixel noise. The mover enters at a random frame, is seen at
``MOVE_FRAMES + 1`` positions (one per frame) and leaves; the frames without it carry no information about the
class (a digit standing still before or after its motion would give the class away by its position alone:
left-to-right ends at the right edge). So each frame has a synced label (moving digit in view or not) and the
frames that decide the class are known. The mover's box in every frame is recorded for the pointing game
(outside its frames: its first or last position, not drawn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, NetloupeError

__all__ = ["CLASSES", "MOVE_FRAMES", "VideoSet", "make_video_set", "trajectory"]

#: The action classes: how the moving digit travels.
CLASSES = ("left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top", "circle", "bounce")
MOVE_FRAMES = 8
DIGIT = 8  # the digits are 8 x 8


@dataclass
class VideoSet:
    """Clips and their ground truth.

    Attributes:
        videos: (N, T, S, S) float32 in about [0, 1].
        labels: (N,) class index into ``CLASSES``.
        moving: (N, T) bool, True in the frames where the moving digit is in view (the synced per-frame label).
        boxes: (N, T, 4) int ``(row0, col0, row1, col1)`` of the moving digit, end exclusive.
        distractor_boxes: (N, 4) box of the static distractor digit.
    """

    videos: np.ndarray
    labels: np.ndarray
    moving: np.ndarray
    boxes: np.ndarray
    distractor_boxes: np.ndarray


def trajectory(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Top-left corners (MOVE_FRAMES + 1, 2) (row, col) of the mover from its first to its last position."""
    if not 0 <= label < len(CLASSES):
        raise InputError(f"label: expected 0..{len(CLASSES) - 1}, got {label}")
    lo, hi = 0, size - DIGIT
    steps = np.arange(MOVE_FRAMES + 1) / MOVE_FRAMES
    other = rng.integers(lo, hi + 1)
    name = CLASSES[label]
    if name in ("left-to-right", "right-to-left"):
        cols = lo + (hi - lo) * (steps if name == "left-to-right" else 1 - steps)
        return np.stack([np.full_like(cols, other), cols], 1).round().astype(int)
    if name in ("top-to-bottom", "bottom-to-top"):
        rows = lo + (hi - lo) * (steps if name == "top-to-bottom" else 1 - steps)
        return np.stack([rows, np.full_like(rows, other)], 1).round().astype(int)
    centre = (hi - lo) / 2
    if name == "circle":  # clockwise (on screen) from a random phase, one full turn
        radius = centre * 0.8
        phase = rng.uniform(0, 2 * math.pi)
        angle = phase + 2 * math.pi * steps
        return np.stack([centre + radius * np.sin(angle), centre + radius * np.cos(angle)], 1).round().astype(int)
    cols = lo + (hi - lo) * (1 - np.abs(2 * steps - 1))  # bounce: to the right edge and back
    return np.stack([np.full_like(cols, other), cols], 1).round().astype(int)


def _paste(frame: np.ndarray, digit: np.ndarray, r: int, c: int) -> None:
    region = frame[r : r + DIGIT, c : c + DIGIT]
    np.maximum(region, digit, out=region)


def make_video_set(
    n: int, seed: int = 0, frames: int = 12, size: int = 32, noise: float = 0.1, digits_slice: slice | None = None
) -> VideoSet:
    """``n`` clips with balanced classes, generated from ``seed``.

    Args:
        n: number of clips.
        seed: random seed (clips, onsets, digits, positions, noise).
        frames: frames per clip (>= MOVE_FRAMES + 1).
        size: frame side in pixels (>= 2 * 8).
        noise: standard deviation of the Gaussian pixel noise.
        digits_slice: which of the 1,797 digit images to draw from (keep train and test digits apart).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise NetloupeError(
            "video: the moving-digit clips need scikit-learn; pip install 'netloupe[sequence]'"
        ) from exc

    if frames < MOVE_FRAMES + 1 or size < 2 * DIGIT:
        raise InputError(f"frames/size: need frames >= {MOVE_FRAMES + 1} and size >= 16, got {frames}, {size}")
    rng = np.random.default_rng(seed)
    images = load_digits().images[digits_slice or slice(None)].astype(np.float32) / 16.0
    videos = np.zeros((n, frames, size, size), np.float32)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    moving = np.zeros((n, frames), bool)
    boxes = np.zeros((n, frames, 4), int)
    dboxes = np.zeros((n, 4), int)
    for i in range(n):
        path = trajectory(int(labels[i]), size, rng)
        onset = int(rng.integers(0, frames - MOVE_FRAMES))
        mover, still = images[rng.integers(len(images))], images[rng.integers(len(images))]
        # the distractor avoids the mover's path where possible (a few tries), so the two rarely overlap
        for _ in range(20):
            dr, dc = rng.integers(0, size - DIGIT + 1, 2)
            if np.min(np.max(np.abs(path - [dr, dc]), 1)) >= DIGIT:
                break
        dboxes[i] = (dr, dc, dr + DIGIT, dc + DIGIT)
        for t in range(frames):
            k = min(max(t - onset, 0), MOVE_FRAMES)
            moving[i, t] = onset <= t <= onset + MOVE_FRAMES
            r, c = path[k]
            boxes[i, t] = (r, c, r + DIGIT, c + DIGIT)
            _paste(videos[i, t], still, dr, dc)
            if moving[i, t]:
                _paste(videos[i, t], mover, r, c)
    videos += rng.normal(0, noise, videos.shape).astype(np.float32)
    return VideoSet(videos, labels, moving, boxes, dboxes)
