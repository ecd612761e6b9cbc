"""Checks for exercise 4.4: the highest threshold reaching a target recall."""

from __future__ import annotations

from types import ModuleType

import numpy as np
from sklearn.metrics import precision_recall_curve

from common.checks import check, expect


def highest_reaching(scores: np.ndarray, labels: np.ndarray, target: float) -> float:
    """The reference: the highest threshold on scikit-learn's curve whose recall >= target."""
    _, recall, thresholds = precision_recall_curve(labels, scores)
    return float(max(t for t, r in zip(thresholds, recall[:-1], strict=True) if r >= target))


def recall_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    return float(((scores >= threshold) & (labels == 1)).sum() / (labels == 1).sum())


def example(seed: int, size: int = 200) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    labels = (generator.random(size) < 0.3).astype(int)
    scores = np.clip(generator.normal(0.35 + 0.3 * labels, 0.15), 0, 1).round(3)  # ties too
    return scores, labels


def answer(learner: ModuleType, scores: np.ndarray, labels: np.ndarray, target: float) -> float:
    return float(learner.threshold_for_recall(scores.tolist(), labels.tolist(), target))


@check("the recall at your threshold reaches the target",
       hint="flag with score >= threshold; count the positives at or above it")
def reaches_target(learner: ModuleType) -> None:
    scores, labels = example(0)
    for target in (0.8, 0.95, 1.0):
        threshold = answer(learner, scores, labels, target)
        recall = recall_at(scores, labels, threshold)
        expect(recall >= target, expected=f"recall >= {target} at your threshold",
               seen=f"recall {recall:.3f} at threshold {threshold:.3f}")


@check("it is the highest such threshold (one of the positives' scores)",
       hint="the answer is a positive example's score: sort them high to low and take the k-th, "
            "k = ceil(target × positives); a lower one flags more than it must")
def highest(learner: ModuleType) -> None:
    scores, labels = example(1)
    positive_scores = set(scores[labels == 1].tolist())
    for target in (0.5, 0.8, 0.9):
        threshold = answer(learner, scores, labels, target)
        higher = [s for s in positive_scores if s > threshold]
        better = [s for s in higher if recall_at(scores, labels, s) >= target]
        expect(threshold in positive_scores and not better,
               expected=f"the highest threshold with recall >= {target}",
               seen=f"{threshold:.3f}" + (f", but {max(better):.3f} reaches it too"
                                          if better else " (not a positive's score)"))


@check("it agrees with scikit-learn's precision-recall curve",
       hint="use >= (a score equal to the threshold is flagged) and a recall of at least, not "
            "exactly, the target")
def agrees_with_scikit_learn(learner: ModuleType) -> None:
    for seed in (2, 3):
        scores, labels = example(seed)
        expected = highest_reaching(scores, labels, 0.9)
        seen = answer(learner, scores, labels, 0.9)
        expect(abs(seen - expected) <= 1e-9, expected=f"{expected:.3f}", seen=f"{seen:.3f}")
