"""A plausible wrong answer: it returns the lowest positive score, which flags more than it must.

Mutated from stage4_own_data/solutions/recall_threshold.py.
"""

from __future__ import annotations

from collections.abc import Sequence


def threshold_for_recall(scores: Sequence[float], labels: Sequence[int], target: float) -> float:
    """The highest threshold t with recall(score >= t) >= target."""
    positives = sorted((s for s, label in zip(scores, labels, strict=True) if label == 1),
                       reverse=True)
    return float(positives[-1])
