"""When the browser tests are skipped (no chromium), the run ends with a loud banner, not a quiet 's'."""

from __future__ import annotations

from types import SimpleNamespace

from tests.web.conftest import pytest_terminal_summary


class _Reporter:
    def __init__(self, skipped: list[str]) -> None:
        self.stats = {"skipped": [SimpleNamespace(longrepr=("test.py", 1, f"Skipped: {s}")) for s in skipped]}
        self.lines: list[tuple[str, str, dict[str, bool]]] = []

    def write_sep(self, sep: str, title: str, **markup: bool) -> None:
        self.lines.append((sep, title, markup))


def test_banner_counts_the_skipped_browser_tests() -> None:
    rep = _Reporter(
        [
            "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
            "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
            "real data folder ../shared/data (or $NETLOUPE_DATA) is absent",
        ]
    )
    pytest_terminal_summary(rep, 0, None)
    assert len(rep.lines) == 1
    sep, title, markup = rep.lines[0]
    assert sep == "!" and markup == {"red": True, "bold": True}
    assert title.startswith("2 BROWSER TESTS SKIPPED: chromium or playwright is missing")


def test_no_banner_when_they_ran() -> None:
    rep = _Reporter(["real data folder ../shared/data (or $NETLOUPE_DATA) is absent"])
    pytest_terminal_summary(rep, 0, None)
    assert rep.lines == []
