"""Sensor windows, subject-disjoint splits, per-class F1 and bad sensor files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from netloupe.errors import InputError
from netloupe.sequence.har import Recording, read_tug_recording, split_by_subject, window_recording
from netloupe.sequence.har_tasks import per_class_f1

HEADER = "x_acc,y_acc,z_acc,x_gyro,y_gyro,z_gyro,timestamp,label"


def _write(path: Path, rows: int, step_ms: float, header: str = HEADER, label: str = "WALKING") -> Path:
    lines = [header] + [f"0,0,9.8,0,0,0,{int(1_000_000 + i * step_ms)},{label}" for i in range(rows)]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def test_windows_count_stride_and_majority_label() -> None:
    labels = np.array([0] * 6 + [1] * 4)
    rec = Recording(np.arange(20, dtype=np.float32).reshape(2, 10), labels, "s01", 100.0)
    x, y = window_recording(rec, window=4, stride=3)
    assert x.shape == (3, 2, 4)  # starts 0, 3, 6; the tail 9 is dropped
    assert x[1, 0].tolist() == [3, 4, 5, 6]
    assert x[2, 1].tolist() == [16, 17, 18, 19]
    assert y.tolist() == [0, 0, 1]
    # a 2-2 tie goes to the label at the centre (index 2 of the window -> second label)
    x, y = window_recording(Recording(np.zeros((1, 4), np.float32), np.array([0, 0, 1, 1]), "s", 100.0), 4, 1)
    assert y.tolist() == [1]


def test_windows_edge_cases() -> None:
    rec = Recording(np.zeros((3, 5), np.float32), np.zeros(5, np.int64), "s01", 100.0)
    x, y = window_recording(rec, window=8, stride=2)
    assert x.shape == (0, 3, 8) and y.shape == (0,)
    x, _ = window_recording(rec, window=5, stride=5)
    assert x.shape == (1, 3, 5)
    with pytest.raises(InputError, match="window/stride"):
        window_recording(rec, window=0, stride=1)


def test_split_by_subject_is_disjoint_and_complete() -> None:
    subjects = [f"s{i:02d}" for i in range(1, 24) for _ in range(3)]
    train, val, test = split_by_subject(subjects, seed=0)
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
    assert set(train) | set(val) | set(test) == set(subjects)
    assert len(test) == 5 and len(val) == 3
    assert split_by_subject(subjects, seed=0) == (train, val, test)
    assert split_by_subject(subjects, seed=1) != (train, val, test)
    with pytest.raises(InputError, match="at least 3"):
        split_by_subject(["a", "b"])


def test_per_class_f1_hand_computed() -> None:
    y = torch.tensor([0, 0, 1, 1, 2])
    p = torch.tensor([0, 1, 1, 1, 0])
    # class 0: tp 1, fp 1, fn 1 -> 0.5; class 1: tp 2, fp 1 -> 0.8; class 2: tp 0, fn 1 -> 0
    assert per_class_f1(y, p, 3).tolist() == pytest.approx([0.5, 0.8, 0.0])


def test_bad_sensor_files(tmp_path: Path) -> None:
    ok = read_tug_recording(_write(tmp_path / "s07_01_sp.csv.gz", 50, 10))
    assert ok.signals.shape == (6, 50) and ok.subject == "s07" and ok.rate_hz == pytest.approx(100, rel=0.01)
    with pytest.raises(InputError, match=r"missing columns \['z_gyro'\]"):
        read_tug_recording(_write(tmp_path / "a.csv.gz", 50, 10, HEADER.replace(",z_gyro", "")))
    with pytest.raises(InputError, match=r"sampling rate 50\.0 Hz"):
        read_tug_recording(_write(tmp_path / "b.csv.gz", 50, 20))
    with pytest.raises(InputError, match="unknown labels"):
        read_tug_recording(_write(tmp_path / "c.csv.gz", 50, 10, label="JUMPING"))
    with pytest.raises(InputError, match="not found"):
        read_tug_recording(tmp_path / "missing.csv.gz")


def test_real_tug_recording(shared_data: Path) -> None:
    rec = read_tug_recording(shared_data / "tug-har-smartphone-subset" / "s01" / "s01_01_sp.csv.gz")
    assert rec.signals.shape[0] == 6 and 90 < rec.rate_hz < 115
