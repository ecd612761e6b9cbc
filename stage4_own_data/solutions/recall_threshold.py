"""Exercise 4.4, a reference answer.

Sort the positives' scores from high to low: flagging everything down to the k-th of them gives a
recall of k / positives, so the answer is the score of the first k with k / positives >= target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def threshold_for_recall(scores: Sequence[float], labels: Sequence[int], target: float) -> float:
    """The highest threshold t with recall(score >= t) >= target."""
    positives = sorted((s for s, label in zip(scores, labels, strict=True) if label == 1),
                       reverse=True)
    needed = max(1, math.ceil(target * len(positives) - 1e-9))  # flag at least this many
    return float(positives[needed - 1])
