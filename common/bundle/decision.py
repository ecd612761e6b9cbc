"""From logits to probabilities to labels: the one decision rule of every shipped model.

The trainer (stage 4), the service (5a), the on-device lessons (5b) and the offline app all
decide here, so they cannot disagree. With two labels and a positive label (the class worth
finding: spam, fraud), that label wins when its probability is at least the threshold —
0 calls everything positive, 1 only a certainty; otherwise the most probable label wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)  # stable: exp never overflows
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def check_rule(labels: Sequence[str], positive_label: str | None,
               threshold: float | None) -> None:
    """Raise :class:`ValueError` unless the labels, positive label and threshold fit together."""
    labels = tuple(labels)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ValueError(f"need two or more distinct labels, got {list(labels)}")
    if positive_label is None:
        return
    if len(labels) != 2 or positive_label not in labels:
        raise ValueError("positive_label needs exactly two labels and must be one of them")
    if not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
            and math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")


def decide(probabilities: np.ndarray, labels: Sequence[str], positive_label: str | None = None,
           threshold: float | None = None) -> np.ndarray:
    """Label indices ``[n]`` for probabilities ``[n, len(labels)]`` (columns in label order)."""
    probabilities = np.asarray(probabilities)
    if positive_label is None:
        return probabilities.argmax(axis=1)
    positive = list(labels).index(positive_label)
    return np.where(probabilities[:, positive] >= threshold, positive, 1 - positive)
