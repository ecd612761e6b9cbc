"""Checks for exercise 4.3: precision and recall from a confusion matrix against scikit-learn."""

from __future__ import annotations

from types import ModuleType

import numpy as np
from sklearn.metrics import confusion_matrix, precision_score, recall_score

from common.checks import check, expect


def compare(learner: ModuleType, y_true: list[int], y_pred: list[int], classes: int,
            positive: int) -> None:
    matrix = confusion_matrix(y_true, y_pred, labels=list(range(classes)))
    expected = (precision_score(y_true, y_pred, labels=[positive], average="macro",
                                zero_division=0),
                recall_score(y_true, y_pred, labels=[positive], average="macro",
                             zero_division=0))
    seen = tuple(float(value) for value in learner.precision_recall(matrix.tolist(), positive))
    expect(np.allclose(seen, expected), expected=f"precision {expected[0]:.4f}, recall "
           f"{expected[1]:.4f} for class {positive} of {matrix.tolist()}",
           seen=f"precision {seen[0]:.4f}, recall {seen[1]:.4f}")


@check("equals scikit-learn on a two-class matrix",
       hint="rows are the true class, columns the prediction: precision divides by the "
            "positive column's sum, recall by the positive row's sum")
def two_classes(learner: ModuleType) -> None:
    compare(learner, [1, 1, 1, 0, 0, 0, 0, 1, 0, 1], [1, 0, 1, 0, 1, 0, 0, 1, 1, 1], 2, 1)


@check("equals scikit-learn on a three-class matrix, for each class",
       hint="with more classes, 'predicted positive' is the whole column, summed over every "
            "true class")
def three_classes(learner: ModuleType) -> None:
    y_true = [0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1, 2]
    y_pred = [0, 1, 1, 2, 1, 2, 0, 2, 1, 0, 1, 2]
    for positive in range(3):
        compare(learner, y_true, y_pred, 3, positive)


@check("a class never predicted or never present gives 0.0, not an error",
       hint="test the denominator before dividing: `hits / total if total else 0.0`")
def empty_cases(learner: ModuleType) -> None:
    compare(learner, [0, 0, 1, 1], [0, 0, 0, 0], 2, 1)  # never predicted: precision 0
    compare(learner, [0, 0, 0, 0], [0, 1, 0, 0], 3, 2)  # class 2 neither present nor predicted
