"""Checks for exercise 4.1: exact row accounting, the reasons, and the kept rows."""

from __future__ import annotations

from types import ModuleType

from common.checks import check, expect

ROWS = [
    ("Refund  please", "billing"),      # kept as "Refund please"
    ("  ", "billing"),                  # empty_text
    (None, None),                       # empty_text (counted once, under the first reason)
    ("Where is my parcel?", None),      # missing_label
    ("Where is my parcel?", "  "),      # missing_label
    ("Refund please", "billing"),       # duplicate of row 0 once normalised
    ("Refund please", "refunds"),       # kept: same text, another label
    ("Where is my parcel?", "shipping"),  # kept
    ("Where is\tmy parcel?", "shipping"),  # duplicate once normalised
]
KEPT = [("Refund please", "billing"), ("Refund please", "refunds"),
        ("Where is my parcel?", "shipping")]
DROPPED = {"empty_text": 2, "missing_label": 2, "duplicate": 2}


def cleaned(learner: ModuleType) -> tuple[list, dict]:
    result = learner.clean(list(ROWS))
    expect(isinstance(result, tuple) and len(result) == 2,
           expected="a pair (kept rows, {reason: count})", seen=repr(result)[:80])
    kept, dropped = result
    return [tuple(row) for row in kept], dict(dropped)


@check("kept + dropped equals the rows given, exactly",
       hint="every row either lands in kept or adds 1 to exactly one reason: count each drop, "
            "also the duplicates")
def exact_accounting(learner: ModuleType) -> None:
    kept, dropped = cleaned(learner)
    total = len(kept) + sum(dropped.values())
    expect(total == len(ROWS), expected=f"{len(ROWS)} rows accounted for",
           seen=f"{len(kept)} kept + {sum(dropped.values())} dropped = {total}")


@check("each reason has its right count, a row counted once",
       hint="test the reasons in order (empty text, then missing label, then duplicate) and "
            "stop at the first that applies; compare duplicates after normalising")
def reasons(learner: ModuleType) -> None:
    _, dropped = cleaned(learner)
    expect(dropped == DROPPED, expected=f"{DROPPED}", seen=f"{dropped}")


@check("the kept rows are normalised and in their original order",
       hint="' '.join(text.split()) strips and collapses whitespace; keep (text, label) pairs")
def kept_rows(learner: ModuleType) -> None:
    kept, _ = cleaned(learner)
    expect(kept == KEPT, expected=f"{KEPT}", seen=f"{kept}")
