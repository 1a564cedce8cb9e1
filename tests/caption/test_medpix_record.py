"""The committed MedPix run of record is internally consistent: the chosen system is the dev argmax of its
own dev table (ties: smaller ensemble, then the earlier decoding), the refit used the dev-chosen epochs, and
the bold test row is that system. Reads results/caption/medpix_attention.json only (no data, no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netloupe.caption.medpix import MEDPIX_DECODINGS

RECORD = Path(__file__).resolve().parents[2] / "results" / "caption" / "medpix_attention.json"


def test_medpix_choice_is_the_dev_argmax_and_the_refit_uses_the_dev_epochs() -> None:
    if not RECORD.is_file():
        pytest.skip("no MedPix run of record")
    rec = json.loads(RECORD.read_text())
    dev = rec["dev_by_ensemble_size_and_decoding"]
    labels = [d[0] for d in MEDPIX_DECODINGS]
    assert all(list(per) == labels for per in dev.values())  # every decoding scored for every size
    best = max((per[lab]["bleu4"], -int(m), -labels.index(lab), m, lab) for m, per in dev.items() for lab in labels)
    size, label = int(best[3]), best[4]
    assert rec["chosen_ensemble_size"] == size
    assert rec["chosen_decoding"]["label"] == label
    spec = next(d for d in MEDPIX_DECODINGS if d[0] == label)
    assert [rec["chosen_decoding"][k] for k in ("beam", "min_len", "no_repeat_ngram")] == list(spec[1:])
    members = rec["members_train_only"]
    for m in members:  # each member kept its lowest dev cross-entropy epoch
        losses = [h["dev_loss"] for h in m["history"]]
        assert m["best_epoch"] == 1 + losses.index(min(losses))
    assert [r["epochs"] for r in rec["members_refit"]] == [m["best_epoch"] for m in members[:size]]
    assert rec["chosen"] == f"attention LSTM, ensemble of {size}, refit on train + dev, {label}"
    assert rec["chosen"] in rec["scores"]
    md = RECORD.with_suffix(".md").read_text()
    assert f"| **{rec['chosen']}** (chosen on dev) | " in md
