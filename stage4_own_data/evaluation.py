"""Metrics on the held-out test split, and the decision threshold chosen on validation.

Classification: accuracy, per-class and macro precision/recall/F1, a confusion matrix. With two
classes the model outputs a probability for the positive class and *we* choose where to cut it:
``--target-recall R`` picks, on the validation split, among the thresholds that still find a
share R of the positives, the one with the best F1 there (ties: the highest); the precision it
costs compared with the plain 0.5 cut is reported. (The highest such threshold alone would push
the recall down to exactly R even where a lower cut finds more positives at almost no cost.)
The test split then measures that choice honestly (it took no part in it).

Regression: MSE (the loss), RMSE, MAE and R² (1 = perfect, 0 = no better than the mean).

The bar a model must clear is the baseline that knows nothing about the text: for classification
it predicts the training split's class frequencies for every text (its cross-entropy on the test
split), for regression the training mean (its MSE). Beating it is the least a model owes; how
far the test figures can be trusted is said by 95% Wilson intervals on accuracy and recall, which
are wide on the small test splits of small datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import precision_recall_curve

from common.bundle.decision import decide
from common.errors import UsageError
from common.metrics import (
    classification_metrics,
    confusion,
    regression_metrics,
    wilson_interval,
)
from common.plots import plot_confusion_matrix, save_figure
from stage3_text.classifier import mean_loss, predict_proba
from stage4_own_data.splitting import Splits
from stage4_own_data.train import Trained, label_ids, predict_values

DEFAULT_TARGET_RECALL = 0.9


@dataclass
class Assessment:
    """What the run measured: for metrics.json, for the summary, and for the manifest."""

    final_loss: float
    baseline_loss: float  # the knows-nothing baseline's loss on the test split: the loss bar
    summary_metrics: dict[str, float]
    details: dict[str, Any]
    positive_label: str | None = None
    decision_threshold: float | None = None
    plots: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ThresholdChoice:
    """The cut on the positive probability chosen for a target recall, and what it costs."""

    target_recall: float
    threshold: float
    val_recall: float
    val_precision: float
    val_recall_at_half: float
    val_precision_at_half: float

    @property
    def precision_cost(self) -> float:
        """Precision given up (positive) or gained (negative) against the 0.5 cut."""
        return self.val_precision_at_half - self.val_precision

    def to_json(self) -> dict[str, float]:
        return {"target_recall": self.target_recall, "threshold": self.threshold,
                "val_recall": self.val_recall, "val_precision": self.val_precision,
                "val_recall_at_0.5": self.val_recall_at_half,
                "val_precision_at_0.5": self.val_precision_at_half,
                "precision_cost": self.precision_cost}


def choose_positive_label(train_labels: list, classes: tuple[str, ...], given: str | None) -> str:
    """``--positive-label``, else the rarer class: usually the one worth finding (spam, fraud)."""
    if given is not None:
        if given not in classes:
            raise UsageError(f"--positive-label {given!r} is not a class ({', '.join(classes)})")
        return given
    counts = {name: train_labels.count(name) for name in classes}
    return min(classes, key=lambda name: (counts[name], -classes.index(name)))


def precision_recall_at(y_true: np.ndarray, scores: np.ndarray, threshold: float
                        ) -> tuple[float, float]:
    predicted = scores >= threshold
    true_positive = int((predicted & (y_true == 1)).sum())
    precision = true_positive / max(1, int(predicted.sum()))
    recall = true_positive / max(1, int((y_true == 1).sum()))
    return precision, recall


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, target_recall: float
                     ) -> ThresholdChoice:
    """Of the thresholds whose recall on ``(y_true, scores)`` is at least ``target_recall``, the
    one with the best F1 (the highest of equals); the lowest threshold if none reaches it."""
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    reaching = [i for i in range(len(thresholds)) if recall[i] >= target_recall]
    if reaching:
        best = max(reaching, key=lambda i: (round(float(f1[i]), 12), i))
        threshold = float(thresholds[best])
    else:
        threshold = float(thresholds.min())
    precision, got = precision_recall_at(y_true, scores, threshold)
    precision_half, recall_half = precision_recall_at(y_true, scores, 0.5)
    return ThresholdChoice(target_recall, threshold, got, precision, recall_half, precision_half)


def evaluate_classifier(
    trained: Trained, splits: Splits, *, positive_label: str | None, target_recall: float,
    plots_dir: Path, final: Trained | None = None,
) -> Assessment:
    """Validation figures and the threshold from ``trained`` (the model trained on train);
    test figures from ``final``, the model that ships (``trained`` itself, or its refit on
    train + validation: :func:`~stage4_own_data.train.refit_on_train_and_val`)."""
    final = final or trained
    classes, device = trained.labels, torch.device("cpu")
    y_test = np.asarray(label_ids(splits.test.labels, classes))
    y_val = np.asarray(label_ids(splits.val.labels, classes))
    test_probs = predict_proba(final.model, final.encoder, splits.test.texts, device=device)
    val_probs = predict_proba(trained.model, trained.encoder, splits.val.texts, device=device)
    test_loss = mean_loss(final.model, final.encoder, splits.test.texts, y_test.tolist(),
                          device=device)
    val_loss = trained.val_loss  # the cross-entropy on validation it was chosen by
    argmax = classification_metrics(y_test, test_probs.argmax(1), classes)
    details: dict[str, Any] = {"val": {"loss": val_loss, **_headline(
        classification_metrics(y_val, val_probs.argmax(1), classes))}}
    baseline = frequency_baseline_loss(label_ids(splits.train.labels, classes), y_test,
                                       len(classes))
    evaluation = Assessment(test_loss, baseline, {}, details)
    predicted = test_probs.argmax(1)
    if len(classes) == 2:
        positive = classes.index(positive_label)
        choice = choose_threshold((y_val == positive).astype(int), val_probs[:, positive],
                                  target_recall)
        predicted = decide(test_probs, classes, positive_label, choice.threshold)
        details["threshold"] = choice.to_json()
        details["test_at_0.5"] = _headline(argmax)
        evaluation.positive_label, evaluation.decision_threshold = positive_label, choice.threshold
        evaluation.plots.append(plot_precision_recall(
            (y_test == positive).astype(int), test_probs[:, positive], choice,
            plots_dir / "precision_recall.png", positive_label))
    test = classification_metrics(y_test, predicted, classes)
    matrix = confusion(y_test, predicted, len(classes))
    accuracy_ci = wilson_interval(int(np.trace(matrix)), len(y_test))
    for index, name in enumerate(classes):
        test["per_class"][name]["recall_ci95"] = list(wilson_interval(
            int(matrix[index, index]), int(matrix[index].sum())))
    details["test"] = {"loss": test_loss, "baseline_loss": baseline, **test,
                       "accuracy_ci95": list(accuracy_ci), "confusion_matrix": matrix.tolist()}
    evaluation.plots.append(plot_confusion_matrix(matrix, classes, plots_dir / "confusion.png",
                                                  title="Confusion matrix (test split)"))
    evaluation.summary_metrics = {**_headline(test), "accuracy_ci95_low": accuracy_ci[0],
                                  "accuracy_ci95_high": accuracy_ci[1], "test_loss": test_loss,
                                  "baseline_loss": baseline, "val_loss": val_loss}
    if len(classes) == 2:
        per_class = test["per_class"][positive_label]
        evaluation.summary_metrics.update({
            "decision_threshold": choice.threshold,
            f"test_f1_{positive_label}": per_class["f1"],
            f"test_recall_{positive_label}": per_class["recall"],
            f"test_recall_{positive_label}_ci95_low": per_class["recall_ci95"][0],
            f"test_recall_{positive_label}_ci95_high": per_class["recall_ci95"][1],
            f"test_precision_{positive_label}": per_class["precision"],
            "val_precision_cost": choice.precision_cost,
        })
    return evaluation


def frequency_baseline_loss(train_ids: list[int], test_ids: np.ndarray, classes: int) -> float:
    """Cross-entropy on the test split of always predicting the training class frequencies."""
    counts = np.bincount(np.asarray(train_ids, dtype=np.int64), minlength=classes)
    shares = counts / counts.sum()
    return float(-np.mean(np.log(shares[np.asarray(test_ids, dtype=np.int64)])))


def evaluate_regressor(trained: Trained, splits: Splits, *, plots_dir: Path) -> Assessment:
    predictions = {name: predict_values(trained, split.texts) for name, split in splits.items()}
    test = regression_metrics(splits.test.labels, predictions["test"])
    val = regression_metrics(splits.val.labels, predictions["val"])
    truth = np.asarray(splits.test.labels, dtype=float)
    baseline = float(np.mean((truth - np.mean(np.asarray(splits.train.labels, dtype=float))) ** 2))
    details = {"test": {"loss": test["mse"], "baseline_loss": baseline, **test},
               "val": {"loss": val["mse"], **val}}
    plot = plot_predictions(truth, predictions["test"], plots_dir / "predictions.png")
    return Assessment(test["mse"], baseline, {**test, "baseline_mse": baseline,
                                              "val_mse": val["mse"]}, details, plots=[plot])


def _headline(metrics: dict[str, Any]) -> dict[str, float]:
    """The flat numbers of :func:`common.metrics.classification_metrics` (no per-class table)."""
    return {key: value for key, value in metrics.items() if isinstance(value, float)}


def plot_precision_recall(y_true: np.ndarray, scores: np.ndarray, choice: ThresholdChoice,
                          path: Path, positive_label: str) -> Path:
    """The test split's precision-recall curve, with the validation-chosen threshold marked."""
    import matplotlib.pyplot as plt

    precision, recall, _ = precision_recall_curve(y_true, scores)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.step(recall, precision, where="post", label="test split")
    for threshold, marker, name in ((choice.threshold, "o", "chosen"), (0.5, "s", "0.5")):
        p, r = precision_recall_at(y_true, scores, threshold)
        ax.plot(r, p, marker, markersize=8, label=f"{name} threshold {threshold:.3f}: "
                                                   f"precision {p:.2f}, recall {r:.2f}")
    ax.axvline(choice.target_recall, color="grey", linestyle="--",
               label=f"target recall {choice.target_recall:g}")
    ax.set(title=f"Precision-recall of '{positive_label}'", xlabel="recall", ylabel="precision",
           xlim=(0, 1.02), ylim=(0, 1.02))
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_predictions(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y_true, y_pred, s=12, alpha=0.6)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], "k--", label="perfect")
    ax.set(title="Predicted vs true (test split)", xlabel="true", ylabel="predicted")
    ax.legend()
    return save_figure(fig, path)
