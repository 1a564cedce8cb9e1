"""Window / VOI LUT formulas against values computed by hand from DICOM PS3.3 C.11.2.1."""

from __future__ import annotations

import numpy as np
import pytest

from netloupe.errors import InputError
from netloupe.io.windowing import (
    WINDOW_PRESETS,
    Window,
    apply_voi_lut,
    apply_window,
    parse_window,
    robust_range,
)


def test_linear_window_hand_values() -> None:
    # c=100.5, w=101: below c-0.5-(w-1)/2 = 50 -> 0, above c-0.5+(w-1)/2 = 150 -> 1, else (x-100)/100+0.5
    x = np.array([0, 50, 75, 100, 125, 150, 151, 400], dtype=np.float32)
    got = apply_window(x, Window(100.5, 101))
    np.testing.assert_allclose(got, [0, 0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0], atol=1e-7)


def test_linear_exact_and_sigmoid_hand_values() -> None:
    x = np.array([0, 20, 40, 60, 80, 81], dtype=np.float32)
    exact = apply_window(x, Window(40, 80, function="LINEAR_EXACT"))
    np.testing.assert_allclose(exact, [0, 0.25, 0.5, 0.75, 1.0, 1.0], atol=1e-7)
    sig = apply_window(np.array([40.0, 60.0, 20.0]), Window(40, 80, function="SIGMOID"))
    # 1 / (1 + exp(-4 (x - c) / w)): x=60 -> 1/(1+e^-1)
    np.testing.assert_allclose(sig, [0.5, 0.7310585786, 0.2689414214], atol=1e-7)


def test_presets_and_parsing() -> None:
    assert parse_window("lung") == Window(-600, 1500, name="lung")
    assert parse_window("Soft tissue").name == "soft-tissue"
    assert (parse_window("40,80").center, parse_window("40,80").width) == (40.0, 80.0)
    assert parse_window(None) is None
    assert set(WINDOW_PRESETS) == {"lung", "mediastinum", "bone", "brain", "soft-tissue"}
    with pytest.raises(InputError, match="closest: 'lung'"):
        parse_window("lungs")
    with pytest.raises(InputError, match="window width"):
        Window(0, 0.5)


def test_voi_lut_hand_values() -> None:
    # descriptor (4 entries, first mapped value 10, 8 bits): 10->0, 11->51, 12->102, 13->255, clamped outside
    got = apply_voi_lut(np.array([5, 10, 11, 12, 13, 20]), (4, 10, 8), [0, 51, 102, 255])
    np.testing.assert_allclose(got, [0, 0, 0.2, 0.4, 1.0, 1.0], atol=1e-7)


def test_robust_range_constant_and_ramp() -> None:
    assert robust_range(np.full((3, 3), 7.0)).max() == 0
    ramp = robust_range(np.arange(1001, dtype=np.float32), 0, 100)
    np.testing.assert_allclose(ramp[[0, 500, 1000]], [0, 0.5, 1.0])
