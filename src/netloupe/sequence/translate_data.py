"""Human-readable dates -> ISO dates: a translation task whose alignment is known by construction.

Every pair is generated from a calendar date, a *format* (a template such as ``"{wd} {d} {Month} {yyyy}"``)
and a *locale* (English, French, German month and weekday names, written here; no external data). The
generator records where the day, month and year fields sit in the source string, so for every character of
the ISO target ``YYYY-MM-DD`` the source span that produces it is known: the year digits come from the
year field, the month digits from the month field (a name such as ``"März"`` or digits), the day digits
from the day field. The two dashes have no source and are not scored.

Splits (``make_splits``): calendar dates are split by ordinal (every 10th day is a test date, never seen in
training in any format); the *held-out formats* are templates never used in training.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = [
    "HELD_OUT_FORMATS",
    "LOCALES",
    "TARGET_ALIGNMENT",
    "TARGET_CHARS",
    "TRAIN_FORMATS",
    "CharVocab",
    "DatePair",
    "DateSplits",
    "make_splits",
    "render_date",
    "sample_pairs",
    "source_vocab",
]

FIRST_YEAR, LAST_YEAR = 1950, 2049  # two-digit years are unambiguous: yy >= 50 -> 19yy, else 20yy

#: Month names, short month names, weekday names (Monday first) and short weekday names per locale.
LOCALES: dict[str, dict[str, list[str]]] = {
    "en": {
        "Month": [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        "Mon": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        "wd": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        "WD": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    },
    "fr": {
        "Month": [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ],
        "Mon": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
        "wd": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
        "WD": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
    },
    "de": {
        "Month": [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ],
        "Mon": ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"],
        "wd": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
        "WD": ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"],
    },
}

#: Templates used for training, per locale. Fields: wd WD (weekday), d dd ord (day), m mm Month month Mon
#: (month), yyyy yy (year). ``month`` is the lower-cased month name, ``ord`` an English ordinal (``12th``).
TRAIN_FORMATS: dict[str, list[str]] = {
    "en": [
        "{wd} {d} {Month} {yyyy}",
        "{Month} {d}, {yyyy}",
        "{wd}, {Month} {ord}, {yyyy}",
        "{d} {Mon} {yyyy}",
        "{Mon} {dd} {yy}",
        "{dd}/{mm}/{yyyy}",
        "{yyyy}-{mm}-{dd}",
        "{d}.{m}.{yy}",
        "the {ord} of {Month} {yyyy}",
        "{WD} {d} {month} {yyyy}",
    ],
    "fr": ["{wd} {d} {month} {yyyy}", "le {d} {month} {yyyy}", "{dd}/{mm}/{yy}", "{WD} {d} {Mon} {yyyy}"],
    "de": ["{wd}, {d}. {Month} {yyyy}", "{d}. {Mon} {yyyy}", "{dd}.{mm}.{yyyy}", "{WD}, {dd}.{mm}.{yy}"],
}

#: Templates never used in training: new orders, separators and locale/template combinations.
HELD_OUT_FORMATS: dict[str, list[str]] = {
    "en": ["{Month} {ord} {yyyy}", "{yyyy} {Month} {d}", "{WD} {d} {Mon} {yy}", "{d}-{Mon}-{yyyy}"],
    "fr": ["{d} {Mon} {yyyy}", "{wd}, le {d} {month} {yyyy}"],
    "de": ["{wd} {d} {Month} {yyyy}", "{Month} {d}, {yyyy}"],
}

TARGET_CHARS = "0123456789-"
#: Which source field produces each of the 10 target characters (``None``: a dash, not scored).
TARGET_ALIGNMENT: tuple[str | None, ...] = ("year",) * 4 + (None, "month", "month", None, "day", "day")

_FIELD = re.compile(r"\{(\w+)\}")
_FIELD_OF = {"d": "day", "dd": "day", "ord": "day", "m": "month", "mm": "month", "Month": "month", "month": "month"}
_FIELD_OF |= {"Mon": "month", "yyyy": "year", "yy": "year", "wd": "weekday", "WD": "weekday"}


@dataclass(frozen=True)
class DatePair:
    """One source string, its ISO target and where its fields are in the source (``[start, end)``)."""

    source: str
    target: str
    spans: dict[str, tuple[int, int]]
    fmt: str
    locale: str

    def aligned_span(self, position: int) -> tuple[int, int] | None:
        """The source span that produces target character ``position`` (``None`` for the dashes)."""
        name = TARGET_ALIGNMENT[position]
        return None if name is None else self.spans[name]


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def render_date(date: dt.date, fmt: str, locale: str = "en") -> DatePair:
    """Write ``date`` with template ``fmt`` in ``locale`` and record the source span of each field.

    >>> p = render_date(dt.date(1999, 3, 12), "{wd} {d} {Month} {yyyy}")
    >>> p.source, p.target, p.source[slice(*p.spans["year"])]
    ('Friday 12 March 1999', '1999-03-12', '1999')
    """
    if locale not in LOCALES:
        raise InputError(f"locale: expected one of {', '.join(LOCALES)}, got {locale!r}")
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        raise InputError(f"date: years {FIRST_YEAR}-{LAST_YEAR} only, got {date.year}")
    names = LOCALES[locale]
    values = {
        "d": str(date.day),
        "dd": f"{date.day:02d}",
        "ord": _ordinal(date.day),
        "m": str(date.month),
        "mm": f"{date.month:02d}",
        "Month": names["Month"][date.month - 1],
        "month": names["Month"][date.month - 1].lower(),
        "Mon": names["Mon"][date.month - 1],
        "yyyy": str(date.year),
        "yy": f"{date.year % 100:02d}",
        "wd": names["wd"][date.weekday()],
        "WD": names["WD"][date.weekday()],
    }
    out: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    pos, last = 0, 0
    for match in _FIELD.finditer(fmt):
        key = match.group(1)
        if key not in values:
            raise InputError(f"fmt: unknown field {{{key}}} in {fmt!r}; allowed: {', '.join(values)}")
        literal = fmt[last : match.start()]
        out.append(literal)
        pos += len(literal)
        out.append(values[key])
        spans[_FIELD_OF[key]] = (pos, pos + len(values[key]))
        pos += len(values[key])
        last = match.end()
    out.append(fmt[last:])
    missing = {"day", "month", "year"} - set(spans)
    if missing:
        raise InputError(f"fmt: {fmt!r} lacks the field(s) {', '.join(sorted(missing))}")
    return DatePair("".join(out), date.isoformat(), spans, fmt, locale)


def _dates(test: bool) -> list[dt.date]:
    first, last = dt.date(FIRST_YEAR, 1, 1).toordinal(), dt.date(LAST_YEAR, 12, 31).toordinal()
    return [dt.date.fromordinal(o) for o in range(first, last + 1) if (o % 10 == 0) == test]


def sample_pairs(n: int, formats: dict[str, list[str]], rng: random.Random, test_dates: bool = False) -> list[DatePair]:
    """``n`` pairs: a uniform format (over all locales' templates) and a uniform date of the chosen split."""
    choices = [(loc, f) for loc, fmts in formats.items() for f in fmts]
    dates = _dates(test_dates)
    return [render_date(rng.choice(dates), *reversed(rng.choice(choices))) for _ in range(n)]


@dataclass
class DateSplits:
    """Training/validation pairs (training formats and dates), tests on unseen dates and unseen formats."""

    train: list[DatePair]
    val: list[DatePair]
    test: list[DatePair]
    test_formats: list[DatePair]


def make_splits(seed: int = 0, n_train: int = 40_000, n_val: int = 1_000, n_test: int = 2_000) -> DateSplits:
    """The fixed-seed splits: ``test`` = training formats on held-out dates, ``test_formats`` = held-out
    formats on held-out dates."""
    rng = random.Random(seed)
    return DateSplits(
        train=sample_pairs(n_train, TRAIN_FORMATS, rng),
        val=sample_pairs(n_val, TRAIN_FORMATS, rng),
        test=sample_pairs(n_test, TRAIN_FORMATS, rng, test_dates=True),
        test_formats=sample_pairs(n_test, HELD_OUT_FORMATS, rng, test_dates=True),
    )


class CharVocab:
    """Characters <-> ids; 0 is padding, 1 an unknown character."""

    PAD, UNK = 0, 1

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = ["<pad>", "<unk>", *chars]
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(c, self.UNK) for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids if i > self.UNK)


def source_vocab() -> CharVocab:
    """ASCII letters, digits, punctuation and every character of the locales' names (fixed order)."""
    extra = sorted({c for names in LOCALES.values() for words in names.values() for w in words for c in w})
    base = string.ascii_letters + string.digits + " .,/-'"
    return CharVocab(list(base) + [c for c in extra if c not in base])
