"""Exercise 4.1 — cleaning with exact row accounting: every dropped row counted, by reason.

``rows`` are ``(text, label)`` pairs as read from a file; either may be ``None``. Clean them:

1. normalise the text: strip it and collapse every run of whitespace into one space;
2. drop the row as ``"empty_text"`` if the normalised text is empty (or the text is None);
3. otherwise drop it as ``"missing_label"`` if the label is None or blank (labels are stripped);
4. otherwise drop it as ``"duplicate"`` if the same (normalised text, label) was kept before.

Return the kept ``(text, label)`` pairs in their original order and the count of dropped rows
per reason (all three reasons present, 0 where nothing was dropped).

    def clean(rows) -> tuple[list[tuple[str, str]], dict[str, int]]

Done when ``mlcourse check 4.1`` passes: kept + dropped equals the rows given, exactly; each
reason has its right count (a row is counted once, under the first reason that applies); the
kept rows are normalised and in order.
"""

from __future__ import annotations

from collections.abc import Sequence

REASONS = ("empty_text", "missing_label", "duplicate")


def clean(rows: Sequence[tuple[str | None, str | None]]
          ) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The kept rows, normalised and in order, and ``{reason: rows dropped}``."""
    raise NotImplementedError
