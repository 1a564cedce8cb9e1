"""The caption demo section shows per-word maps, readable table headers and when/where tables were measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netloupe.demo import section_caption


def _results(tmp_path: Path) -> Path:
    cap = tmp_path / "caption"
    cap.mkdir()
    (cap / "synthetic.md").write_text(
        "# title\n\nMeasured 2026-12-03 08:00 UTC, x86_64 CPU (2 cores visible, shared).\n\n"
        "| system | BLEU-4 | CIDEr-D |\n|---|---:|---:|\n"
        "| **attention LSTM, greedy** (decoding chosen on dev) | 90 | 8 |\n\n"
        "## Pointing game\n\n| word kind | decoder attention | Grad-CAM |\n|---|---:|---:|\n"
        "| noun | 80.0 % | 70.0 % |\n"
    )
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(cap / "synthetic_words_0.png")
    (cap / "scores.md").write_text("| system | bleu4 | modality_acc |\n|---|---:|---:|\n| LSTM greedy | 2.3 | 70.5 |\n")
    (cap / "README.md").write_text("Run of record: `netloupe caption-train`, 2026-11-27, shared 2-core CPU.\n")
    return tmp_path


def test_section_shows_word_maps_readable_headers_and_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(section_caption, "_results", lambda: _results(tmp_path))
    section = section_caption.build(None)  # type: ignore[arg-type]
    assert section is not None
    html = section.body
    assert "Each word gets its own map" in html
    assert "data:image/png;base64," in html  # the per-word strip is embedded
    assert "Pointing game" in html and "Grad-CAM" in html and "80.0 %" in html
    assert "Measured 2026-12-03 08:00 UTC" in html  # when and where the synthetic table was measured
    assert "BLEU-4" in html and "modality right %" in html and "modality_acc" not in html
    assert "Run of record: `netloupe caption-train`, 2026-11-27" in html or "2026-11-27" in html
    assert "**" not in html


def test_measured_line_prefers_measured_then_run_of_record(tmp_path: Path) -> None:
    p = tmp_path / "r.md"
    p.write_text("- Machine: 2 cores\nRun of record: x, 2026-11-27\n")
    assert section_caption.measured_line(p).startswith("Run of record")
    p.write_text("- Machine: 2 cores\n")
    assert section_caption.measured_line(p) == "Machine: 2 cores"
    assert section_caption.measured_line(tmp_path / "missing.md") == ""
