"""Caption text: tokens, the caption vocabulary, and the structured fields a reader checks first.

The structured fields (modality CT/MR, plane, body region) are read from free text by keyword rules, so
a generated caption, an author's caption and a baseline's caption are all scored by the same reader.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "REGION_CATEGORIES",
    "UNK",
    "CaptionVocab",
    "caption_fields",
    "tokenize_caption",
]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[.,;:()/%]")


def tokenize_caption(text: str) -> list[str]:
    """Lower-case words and numbers (hyphenated words kept whole) and the punctuation ``. , ; : ( ) / %``."""
    if not isinstance(text, str):
        raise InputError(f"caption: expected a string, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


@dataclass
class CaptionVocab:
    """Word <-> id table with ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, ``<eos>`` = 3."""

    words: list[str]

    def __post_init__(self) -> None:
        if self.words[:4] != [PAD, UNK, BOS, EOS]:
            raise InputError(f"words: must start with {[PAD, UNK, BOS, EOS]}, got {self.words[:4]}")
        self.index = {w: i for i, w in enumerate(self.words)}

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    @classmethod
    def build(cls, captions: Iterable[Sequence[str]], min_count: int = 2) -> CaptionVocab:
        """Words seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(w for c in captions for w in c)
        kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK, BOS, EOS, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str], max_len: int | None = None) -> list[int]:
        """``<bos> w1 .. wn <eos>`` ids (words cut to ``max_len``); raises on an empty or all-unknown caption."""
        if not tokens:
            raise InputError("caption: is empty (no words after tokenisation)")
        ids = [self.index.get(w, self.unk_id) for w in tokens][:max_len]
        if all(i == self.unk_id for i in ids):
            raise InputError(f"caption: every word is out of vocabulary ({' '.join(tokens[:8])!r})")
        return [self.bos_id, *ids, self.eos_id]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Words of ``ids`` without the special tokens, stopping at ``<eos>``."""
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                out.append(self.words[i])
        return out


_MR = re.compile(
    r"\b(mri?|mra|mrv|t1|t2|flair|stir|dwi|adc|diffusion|gadolinium|weighted|t1-weighted|"
    r"t2-weighted|fat-saturated|magnetic)\b"
)
_CT = re.compile(r"\b(ct|cta|computed|tomography|hounsfield|noncontrast|non-contrast|contrast-enhanced)\b")
_PLANES = {
    "Axial": re.compile(r"\b(axial|transverse)\b"),
    "Coronal": re.compile(r"\bcoronal(ly)?\b"),
    "Sagittal": re.compile(r"\bsagittal(ly)?\b"),
}
#: The dataset's ``location_category`` values and the words that name them in a caption.
REGION_CATEGORIES: dict[str, re.Pattern[str]] = {
    "Head": re.compile(
        r"\b(brain|head|skull|cerebral|cerebellar|cerebellum|cranial|intracranial|orbit|orbits|orbital|"
        r"sinus|sinuses|temporal|frontal|parietal|occipital|ventricle|ventricles|ventricular|pituitary|"
        r"sella|face|facial|neck|mandible|maxillary|hemisphere|thalamus|pons|midbrain|cortex|cortical|"
        r"white|ear|nasal|globe|optic|dural|subdural|meningioma)\b"
    ),
    "Spine and Muscles": re.compile(
        r"\b(spine|spinal|vertebra|vertebral|cervical|thoracic|lumbar|sacral|sacrum|disc|cord|knee|"
        r"shoulder|hip|elbow|wrist|ankle|foot|hand|femur|femoral|tibia|humerus|muscle|muscles|tendon|"
        r"bone|marrow|l1|l2|l3|l4|l5|c1|c2|c5|c6|t12|joint|meniscus|ligament|thigh|leg|arm)\b"
    ),
    "Thorax": re.compile(
        r"\b(chest|lung|lungs|pulmonary|thorax|thoracic|mediastinum|mediastinal|heart|cardiac|aorta|"
        r"aortic|pleural|breast|lobe|hilar|trachea|bronchial|pericardial|esophagus|esophageal)\b"
    ),
    "Abdomen": re.compile(
        r"\b(abdomen|abdominal|liver|hepatic|pancreas|pancreatic|spleen|splenic|bowel|colon|gallbladder|"
        r"stomach|gastric|mesenteric|duodenum|duodenal|appendix|biliary|peritoneal|small|jejunum|ileum)\b"
    ),
    "Reproductive and Urinary System": re.compile(
        r"\b(kidney|kidneys|renal|bladder|ureter|pelvis|pelvic|uterus|uterine|ovary|ovarian|adnexal|"
        r"prostate|testis|testicular|scrotum|scrotal|adrenal|urinary|cervix|vaginal)\b"
    ),
}


def caption_fields(text: str | Sequence[str]) -> dict[str, str | None]:
    """Modality (``CT``/``MR``), plane and body-region category named by a caption (None when not named).

    When a caption names several regions, the one with the most keyword hits wins (ties: table order);
    when it names both modalities, the first mention wins.
    """
    s = " ".join(text) if not isinstance(text, str) else " ".join(tokenize_caption(text))
    mr, ct = _MR.search(s), _CT.search(s)
    modality = None
    if mr and ct:
        modality = "MR" if mr.start() < ct.start() else "CT"
    elif mr or ct:
        modality = "MR" if mr else "CT"
    plane = next((name for name, rx in _PLANES.items() if rx.search(s)), None)
    hits = {name: len(rx.findall(s)) for name, rx in REGION_CATEGORIES.items()}
    best = max(hits.values())
    region = next(name for name, n in hits.items() if n == best) if best else None
    return {"modality": modality, "plane": plane, "region": region}
