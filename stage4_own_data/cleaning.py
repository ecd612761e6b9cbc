"""Cleaning with full accounting: every row that goes in is either kept or dropped for one reason.

The invariant ``rows_in == rows_kept + sum(rows_dropped.values())`` holds for any input (a
property-based test checks it). The steps, in the order they apply (a row gets the first reason
that fits):

``malformed_row``     the reader could not split the line into the table's columns;
``empty_text``        no text left after normalising (blank lines land here too);
``missing_label``     no label, or a placeholder such as "NA", "null", "-" (``MISSING_LABELS``);
``bad_label``         regression only: the label is not a finite number;
``too_long``          more than ``max_text_chars`` characters (the bundle's input limit);
``duplicate``         the same text again with the same label: the first one is kept;
``conflicting_label`` the same text with different labels. Policy: a label that holds a clear
                      majority (more than half of that text's rows) is kept once; the rows that
                      disagree are dropped; on a tie or without a majority every row of that text
                      is dropped, because we cannot tell which label is right;
``rare_label``        classification only: a label with fewer than ``min_examples`` rows left
                      (too few to learn from or to put in every split).

Normalisation: Unicode NFKC (full-width letters, ligatures and non-breaking spaces become plain
ones), invisible format characters removed, runs of whitespace made one space, ends stripped.
Two texts are "the same" when they match after that and ignoring case (``str.lower``, as the
model sees text). Labels are normalised the same way and lower-cased ("Billing " and "billing"
are one class); renames are reported.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from tqdm.auto import tqdm

from stage4_own_data.columns import parse_number
from stage4_own_data.reading import Malformed

REASONS = ("malformed_row", "empty_text", "missing_label", "bad_label", "too_long", "duplicate",
           "conflicting_label", "rare_label")
MISSING_LABELS = frozenset({"", "nan", "null", "none", "n/a", "na", "-", "?"})
MIN_EXAMPLES_PER_LABEL = 5
DEFAULT_MAX_TEXT_CHARS = 1000
EXAMPLES_PER_REASON = 3
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # category Cc, all of it

Label = str | float


def normalize_text(text: str | None) -> str:
    """NFKC, no invisible format characters, single spaces, stripped ends."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", _format_characters().sub("", text))
    return _WHITESPACE.sub(" ", text).strip()


@cache
def _format_characters() -> re.Pattern[str]:
    """Every code point of category Cf (invisible format characters) as one class, so that a
    text is cleaned in C rather than character by character in Python (six times faster)."""
    found = [chr(code) for code in range(sys.maxunicode + 1)
             if unicodedata.category(chr(code)) == "Cf"]
    return re.compile("[" + "".join(map(re.escape, found)) + "]")


def normalize_label(label: str | None) -> str | None:
    """A label as a class name: normalised like text and lower-cased; ``None`` when missing."""
    value = normalize_text(label).lower()
    return None if value in MISSING_LABELS else value


def text_key(text: str) -> str:
    """What makes two cleaned texts "the same" (duplicates, conflicts, leakage)."""
    return text.lower()


@dataclass
class Cleaned:
    """The kept rows, and an account of every dropped one."""

    texts: list[str]
    labels: list[Label]
    source_lines: list[int]  # the input line each kept row starts on (what an editor shows)
    rows_in: int
    rows_dropped: dict[str, int]
    examples: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    rare_labels: dict[str, int] = field(default_factory=dict)
    label_renames: dict[str, str] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        return len(self.texts)

    def accounting(self) -> dict[str, object]:
        return {"rows_in": self.rows_in, "rows_kept": self.rows_kept,
                "rows_dropped": dict(self.rows_dropped)}


class _Ledger:
    """Counts drops by reason and keeps a few examples of each for the report."""

    def __init__(self, lines: Sequence[int]) -> None:
        self.lines = lines
        self.counts: dict[str, int] = dict.fromkeys(REASONS, 0)
        self.examples: dict[str, list[dict[str, object]]] = defaultdict(list)

    def drop(self, reason: str, row: int, text: str | None, label: object) -> None:
        """Count row ``row`` (an index into the cleaned columns) as dropped for ``reason``."""
        self._count(reason, {"line": self.lines[row], "text": (text or "")[:80],
                             "label": label})

    def drop_malformed(self, record: Malformed) -> None:
        self._count("malformed_row", {"line": record.line, "text": record.text,
                                      "label": None, "why": record.why})

    def _count(self, reason: str, example: dict[str, object]) -> None:
        self.counts[reason] += 1
        if len(self.examples[reason]) < EXAMPLES_PER_REASON:
            self.examples[reason].append(example)


def clean(
    texts: Sequence[str | None],
    labels: Sequence[str | None],
    *,
    task: str = "classification",
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    min_examples: int = MIN_EXAMPLES_PER_LABEL,
    lines: Sequence[int] | None = None,
    malformed: Sequence[Malformed] = (),
    progress: bool = False,
) -> Cleaned:
    """Apply the steps of the module docstring.

    ``lines`` is the input line of each row (default: 1, 2, ...), for the report's examples;
    ``malformed`` are the records the reader could not split, counted first; ``progress`` shows
    a bar over the rows.
    """
    if len(texts) != len(labels):
        raise ValueError("texts and labels must have one entry per row")
    lines = list(range(1, len(texts) + 1)) if lines is None else lines
    if len(lines) != len(texts):
        raise ValueError("lines must have one entry per row")
    ledger = _Ledger(lines)
    for record in malformed:
        ledger.drop_malformed(record)
    renames: dict[str, str] = {}
    candidates: list[tuple[int, str, Label]] = []
    rows = tqdm(zip(texts, labels, strict=True), total=len(texts), desc="cleaning",
                unit=" rows", unit_scale=True, disable=None if progress else True)
    for row, (raw_text, raw_label) in enumerate(rows):
        text = normalize_text(raw_text)
        label = normalize_label(raw_label)
        value: Label | None = label
        if label is not None and task == "regression":
            value = parse_number(label)
        if not text:
            ledger.drop("empty_text", row, raw_text, raw_label)
        elif label is None:
            ledger.drop("missing_label", row, text, raw_label)
        elif value is None:
            ledger.drop("bad_label", row, text, raw_label)
        elif len(text) > max_text_chars:
            ledger.drop("too_long", row, text, label)
        else:
            if task == "classification" and raw_label and raw_label.strip() != label:
                renames[raw_label] = label
            candidates.append((row, text, value))
    kept = _resolve_repeats(candidates, ledger)
    rare: dict[str, int] = {}
    if task == "classification":
        counts = Counter(label for _, _, label in kept)
        rare = {str(lab): n for lab, n in sorted(counts.items()) if n < min_examples}
        for row, text, label in kept:
            if label in rare:
                ledger.drop("rare_label", row, text, label)
        kept = [item for item in kept if item[2] not in rare]
    return Cleaned(
        texts=[text for _, text, _ in kept],
        labels=[label for _, _, label in kept],
        source_lines=[lines[row] for row, _, _ in kept],
        rows_in=len(texts) + len(malformed),
        rows_dropped=ledger.counts,
        examples=dict(ledger.examples),
        rare_labels=rare,
        label_renames=renames,
    )


def _resolve_repeats(
    candidates: list[tuple[int, str, Label]], ledger: _Ledger
) -> list[tuple[int, str, Label]]:
    """Keep one row per text (the duplicate and conflict policy); return them in input order."""
    groups: dict[str, list[tuple[int, str, Label]]] = defaultdict(list)
    for item in candidates:
        groups[text_key(item[1])].append(item)
    kept = []
    for rows in groups.values():
        votes = Counter(label for _, _, label in rows)
        winner, count = votes.most_common(1)[0]
        if count * 2 <= len(rows):  # no clear majority: nobody knows the right label
            for row, text, label in rows:
                ledger.drop("conflicting_label", row, text, label)
            continue
        first = next(item for item in rows if item[2] == winner)
        kept.append(first)
        for row, text, label in rows:
            if row == first[0]:
                continue
            ledger.drop("duplicate" if label == winner else "conflicting_label", row, text, label)
    return sorted(kept, key=lambda item: item[0])
