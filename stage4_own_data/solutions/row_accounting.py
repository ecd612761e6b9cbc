"""Exercise 4.1, a reference answer (the pipeline's own is ``stage4_own_data.cleaning``)."""

from __future__ import annotations

from collections.abc import Sequence

REASONS = ("empty_text", "missing_label", "duplicate")


def clean(rows: Sequence[tuple[str | None, str | None]]
          ) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The kept rows, normalised and in order, and ``{reason: rows dropped}``."""
    kept: list[tuple[str, str]] = []
    dropped = dict.fromkeys(REASONS, 0)
    seen: set[tuple[str, str]] = set()
    for text, label in rows:
        text = " ".join((text or "").split())  # split() with no argument splits on any run
        label = (label or "").strip()
        reason = ("empty_text" if not text else "missing_label" if not label
                  else "duplicate" if (text, label) in seen else None)
        if reason:
            dropped[reason] += 1
            continue
        seen.add((text, label))
        kept.append((text, label))
    return kept, dropped
