"""The sequence page's back end: explain a sentence with a shipped text model, when one is installed.

The shipped date translator (``date-translator``) is served too: its label is the ISO date, its tokens the
source characters (scored by the total |integrated gradients| over the outputs), and ``rows`` carries, per
output character, the attention row and the attribution row over the source characters.

It codes against :mod:`netloupe.sequence` (``load_bundle(name)`` and ``explain_text(bundle, text)``, with
the shipped names in ``netloupe.sequence.checkpoint.SHIPPED_MODELS``); without it the page says that no
sequence model is installed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InputError, did_you_mean
from ._errors import ApiError

__all__ = ["TextModels"]

TextFn = Callable[[str], dict[str, Any]]


class TextModels:
    """Name -> ``fn(text) -> {"tokens": [...], "scores": [...], "label": ..., "probability": ...}``."""

    def __init__(self, injected: Mapping[str, TextFn] | None) -> None:
        self._injected = dict(injected) if injected is not None else None
        self._discovered: dict[str, TextFn] | None = None
        self._discover_lock = threading.Lock()
        self._run_lock = threading.Lock()  # the sequence models are small; one lock for all of them

    @property
    def _fns(self) -> dict[str, TextFn]:
        if self._injected is not None:
            return self._injected
        with self._discover_lock:
            if self._discovered is None:
                self._discovered = _discover()  # loads the shipped bundles once, on first use
            return self._discovered

    @property
    def names(self) -> list[str]:
        return list(self._fns)

    def explain(self, name: str, text: str) -> dict[str, Any]:
        fns = self._fns
        if not fns:
            raise ApiError(404, "sequence: no text model is installed in this server")
        if name not in fns:
            raise InputError(
                f"model: {name!r} is not a served text model{did_you_mean(name, fns)}; available: {', '.join(fns)}"
            )
        if not text.strip():
            raise InputError("text: expected a sentence, got an empty string")
        with self._run_lock:
            out = fns[name](text)
        tokens, scores = list(out["tokens"]), [float(s) for s in out["scores"]]
        peak = max((abs(s) for s in scores), default=0.0) or 1.0
        rows = out.get("rows")
        return {
            "rows": rows,
            "model": name,
            "label": out.get("label"),
            "probability": out.get("probability"),
            "method": out.get("method"),
            "tokens": [
                {"token": t, "score": s, "relative": s / peak, "unknown": bool(u)}
                for t, s, u in zip(tokens, scores, out.get("unknown") or [False] * len(tokens), strict=True)
            ],
        }


def _discover() -> dict[str, TextFn]:
    from importlib import import_module

    try:  # imported by name: the sequence package may not provide these yet (type-checks either way)
        sequence: Any = import_module("netloupe.sequence")
        explain_text, load_bundle = sequence.explain_text, sequence.load_bundle
        shipped: Any = import_module("netloupe.sequence.checkpoint").SHIPPED_MODELS
    except (ImportError, AttributeError):
        return {}
    fns: dict[str, TextFn] = {}
    for name in shipped:
        try:
            bundle = load_bundle(name)
        except Exception:  # a shipped file that is missing or broken is simply not offered
            continue
        if getattr(bundle, "vocab", None) is not None:  # text models only (not signals or digit rows)
            fns[name] = _bundle_fn(bundle, explain_text)
    translator = _translator_fn()
    if translator is not None:
        fns["date-translator"] = translator
    return fns


def _translator_fn() -> TextFn | None:
    try:
        from ..sequence.translate_explain import explain_translation
        from ..sequence.translate_train import load_translator

        bundle = load_translator()
    except Exception:  # not installed or unreadable: simply not offered
        return None

    def fn(text: str) -> dict[str, Any]:
        e = explain_translation(bundle, text, "integrated_gradients")
        source = list(e.source)
        return {
            "tokens": source,
            "scores": [float(v) for v in abs(e.attribution).sum(0).tolist()],
            "label": e.output,
            "probability": None,
            "method": "integrated_gradients (per output: attention | attribution)",
            "rows": [
                {"output": ch, "attention": [float(v) for v in att], "attribution": [float(v) for v in attr]}
                for ch, att, attr in zip(e.output, e.attention.tolist(), e.attribution.tolist(), strict=True)
            ],
        }

    return fn


def _bundle_fn(bundle: Any, explain_text: Callable[..., Any]) -> TextFn:
    def fn(text: str) -> dict[str, Any]:
        exp = explain_text(bundle, text)
        return {
            "tokens": exp.tokens,
            "scores": [float(v) for v in exp.attribution.tolist()],
            "unknown": exp.unknown,
            "label": exp.label,
            "probability": float(exp.probability),
            "method": exp.method,
        }

    return fn
