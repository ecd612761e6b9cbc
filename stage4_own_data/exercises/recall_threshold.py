"""Exercise 4.4 — the decision threshold that reaches a target recall.

A classifier gives every message a score (the probability of the positive class); the message is
flagged when ``score >= threshold``. A lower threshold flags more: recall rises, precision falls.
Find the *highest* threshold whose recall on these labelled examples is at least ``target``
(the highest, because it costs the least precision). ``labels`` are 1 (positive) or 0.

    def threshold_for_recall(scores, labels, target) -> float

Done when ``mlcourse check 4.4`` passes: at your threshold the recall is at least the target, any
higher threshold misses it, the answer is one of the positive examples' scores (so it works for
any spacing of scores and ties), and it equals the one ``stage4_own_data`` would choose.
"""

from __future__ import annotations

from collections.abc import Sequence


def threshold_for_recall(scores: Sequence[float], labels: Sequence[int], target: float) -> float:
    """The highest threshold t with recall(score >= t) >= target."""
    raise NotImplementedError
