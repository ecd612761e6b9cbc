"""Exercise 4.3 — precision and recall of one class, read off a confusion matrix.

``confusion[i][j]`` counts the examples whose true class is ``i`` and whose predicted class is
``j`` (rows: truth, columns: prediction; scikit-learn's ``confusion_matrix`` convention), for
two or more classes. For the class ``positive``:

- precision: of everything predicted ``positive``, the share that truly is;
- recall: of everything truly ``positive``, the share predicted so.

When a share has nothing to divide by (the class never predicted, or never present), return 0.0.

    def precision_recall(confusion, positive) -> tuple[float, float]

Done when ``mlcourse check 4.3`` passes: your figures equal scikit-learn's
``precision_score``/``recall_score`` on two- and three-class matrices, and the empty cases give
0.0 instead of an error or NaN.
"""

from __future__ import annotations

from collections.abc import Sequence


def precision_recall(confusion: Sequence[Sequence[int]], positive: int) -> tuple[float, float]:
    """(precision, recall) of class ``positive``; 0.0 where there is nothing to divide by."""
    raise NotImplementedError
