"""Which column holds the text and which the label: given by flags, or picked and explained.

``--text-column`` / ``--label-column`` accept a name from the header or a 0-based position.
Without them the rules are, in order:

1. a column with a conventional name (``text``, ``message``, ``label``, ``class`` ...);
2. text: the remaining column with the longest texts on average;
3. label: for classification the remaining column with the fewest distinct values (at least two,
   at most ``MAX_AUTO_CLASSES``, and repeating: fewer distinct values than half the rows); for
   regression the remaining column whose values are numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from common.errors import UsageError
from stage4_own_data.reading import Table

TEXT_NAMES = ("text", "message", "body", "comment", "review", "content", "sentence", "sms")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "intent", "topic", "sentiment",
               "y")
MAX_AUTO_CLASSES = 50


@dataclass(frozen=True)
class Columns:
    text: str
    label: str
    how: str  # one line for people: which columns and why

    def to_json(self) -> dict[str, str]:
        return {"text": self.text, "label": self.label, "how": self.how}


def resolve_column(table: Table, spec: str, flag: str) -> str:
    """A column by header name, else by 0-based position; a clear error listing the choices."""
    names = list(table.frame.columns)
    if spec in names:
        return spec
    if spec.lstrip("-").isdigit():
        index = int(spec)
        if 0 <= index < len(names):
            return names[index]
        raise UsageError(f"{flag} {spec}: the file has {len(names)} column(s), positions "
                         f"0..{len(names) - 1}")
    raise UsageError(f"{flag} {spec!r}: unknown column; the file has {_listing(names)}")


def choose_columns(
    table: Table, text: str | None, label: str | None, *, task: str = "classification"
) -> Columns:
    """Resolve the flags and pick whatever is not given, saying how each was chosen."""
    names = list(table.frame.columns)
    if len(names) < 2:
        raise UsageError(f"{table.path} has one column ({names[0]!r}) but needs a text and a "
                         "label column; is the delimiter right? (--sep)")
    text_col = resolve_column(table, text, "--text-column") if text is not None else None
    label_col = resolve_column(table, label, "--label-column") if label is not None else None
    reasons = []
    if text_col is None:
        text_col, why = _pick_text(table, exclude=label_col)
        reasons.append(f"text column {text_col!r} picked: {why}")
    if label_col is None:
        label_col, why = _pick_label(table, exclude=text_col, task=task)
        reasons.append(f"label column {label_col!r} picked: {why}")
    if text_col == label_col:
        raise UsageError(f"the text and the label column are the same ({text_col!r})")
    how = "; ".join(reasons) if reasons else "columns given by flags"
    return Columns(text_col, label_col, how)


def text_column(table: Table, given: str | None = None) -> tuple[str, str]:
    """The text column alone (for texts without labels): ``given`` (a name or a 0-based
    position), else by rules 1 and 2 of the module docstring; returns it and why."""
    if given is not None:
        return resolve_column(table, given, "--text-column"), "given by --text-column"
    return _pick_text(table, exclude=None)


def _pick_text(table: Table, exclude: str | None) -> tuple[str, str]:
    candidates = [c for c in table.frame.columns if c != exclude]
    named = [c for c in candidates if c.strip().lower() in TEXT_NAMES]
    if named:
        return named[0], "its name"
    lengths = {c: _mean_length(table.values(c)) for c in candidates}
    best = max(candidates, key=lambda c: lengths[c])
    return best, f"the longest values (mean {lengths[best]:.0f} characters)"


def _pick_label(table: Table, exclude: str | None, task: str) -> tuple[str, str]:
    candidates = [c for c in table.frame.columns if c != exclude]
    named = [c for c in candidates if c.strip().lower() in LABEL_NAMES]
    if named:
        return named[0], "its name"
    if task == "regression":
        shares = {c: _numeric_share(table.values(c)) for c in candidates}
        best = max(candidates, key=lambda c: shares[c])
        if shares[best] >= 0.9:
            return best, f"{shares[best]:.0%} of its values are numbers"
        raise UsageError("no numeric label column found for --task regression; "
                         f"name it with --label-column ({_listing(candidates)})")
    distinct = {c: len({v.strip() for v in table.values(c) if v and v.strip()}) for c in candidates}
    usable = [c for c in candidates
              if 2 <= distinct[c] <= MAX_AUTO_CLASSES and distinct[c] <= 0.5 * table.rows]
    if not usable:
        raise UsageError("no column looks like a label (a few values that repeat); name it "
                         f"with --label-column ({_listing(candidates)})")
    best = min(usable, key=lambda c: distinct[c])
    return best, f"fewest distinct values ({distinct[best]})"


def _mean_length(values: list[str | None]) -> float:
    lengths = [len(v) for v in values if v]
    return sum(lengths) / len(lengths) if lengths else 0.0


def _numeric_share(values: list[str | None]) -> float:
    present = [v for v in values if v and v.strip()]
    return sum(parse_number(v) is not None for v in present) / len(present) if present else 0.0


def parse_number(value: str) -> float | None:
    """A finite float, or ``None``; a decimal comma ("3,5") counts, as spreadsheets write it."""
    try:
        number = float(value.strip().replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _listing(names: list[str]) -> str:
    shown = ", ".join(f"{i}={n!r}" for i, n in enumerate(names[:12]))
    return f"columns {shown}" + (" ..." if len(names) > 12 else "")
