"""Exercise 4.3, a reference answer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def precision_recall(confusion: Sequence[Sequence[int]], positive: int) -> tuple[float, float]:
    """(precision, recall) of class ``positive``; 0.0 where there is nothing to divide by."""
    matrix = np.asarray(confusion)
    hits = matrix[positive, positive]
    predicted = matrix[:, positive].sum()  # the column: everything predicted positive
    actual = matrix[positive, :].sum()  # the row: everything truly positive
    return (float(hits / predicted) if predicted else 0.0,
            float(hits / actual) if actual else 0.0)
