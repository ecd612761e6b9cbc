"""The learning curve: would more rows of the same kind make the model better?

The model is trained again on 25%, 50% and 75% of the training split (each class keeps its share,
at least one row), and every model is scored on the same validation split; the 100% point is the
model the pipeline trained. A curve still rising at its right end says more data would likely
help; a flat one says the rows you have are not what limits the model (better labels, cleaner
text or another model would). Above :data:`MAX_CURVE_ROWS` training rows the curve is drawn on a
random subsample of that size, and scored on at most as many validation rows, so its cost stays
bounded however big the data (each model stops early on validation: scoring 73,500 validation
rows after every epoch took most of a 500,000-row run's curve).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from common.metrics import classification_metrics, regression_metrics
from common.plots import save_figure
from stage4_own_data.splitting import Split, Splits, at_most, subsample
from stage4_own_data.train import Trained, label_ids, predict_values

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
MAX_CURVE_ROWS = 20_000
MORE_DATA_GAIN = 0.01  # a validation score still rising this much over the last quarter

TrainFn = Callable[[Splits], Trained]


@dataclass(frozen=True)
class CurvePoint:
    fraction: float
    train_rows: int
    val_score: float
    val_loss: float


@dataclass(frozen=True)
class LearningCurve:
    metric: str  # "macro_f1" (classification) or "r2" (regression), on the validation split
    points: tuple[CurvePoint, ...]
    capped_at: int | None  # the subsample size when the training split was larger
    val_rows: int  # the validation rows every point is scored on (a subsample on large data)

    @property
    def last_gain(self) -> float:
        """Validation score gained from the 75% point to the 100% point."""
        return self.points[-1].val_score - self.points[-2].val_score

    @property
    def more_data_helps(self) -> bool:
        return self.last_gain > MORE_DATA_GAIN

    @property
    def verdict(self) -> str:
        gain = f"{self.metric} {self.last_gain:+.3f} from 75% to 100% of the training rows"
        if self.more_data_helps:
            return f"more data would likely help ({gain}: the curve is still rising)"
        return (f"more rows of the same kind would likely help little ({gain}: the curve has "
                "flattened); look at the labels, the text or the model instead")

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "points": [asdict(p) for p in self.points],
                "capped_at": self.capped_at, "val_rows": self.val_rows, "last_gain": self.last_gain,
                "more_data_helps": self.more_data_helps, "verdict": self.verdict}


def score(trained: Trained, split: Split, task: str) -> tuple[float, float]:
    """``(score, loss)`` of a model on a split: macro F1 and cross-entropy, or R² and MSE."""
    if task == "classification":
        from stage3_text.classifier import mean_loss, predict_proba

        y = label_ids(split.labels, trained.labels)
        probabilities = predict_proba(trained.model, trained.encoder, split.texts)
        metrics = classification_metrics(y, probabilities.argmax(1), trained.labels)
        loss = mean_loss(trained.model, trained.encoder, split.texts, y,
                         device=torch.device("cpu"))
        return float(metrics["macro_f1"]), loss
    metrics = regression_metrics(split.labels, predict_values(trained, split.texts))
    return metrics["r2"], metrics["mse"]


def learning_curve(splits: Splits, trained: Trained, train: TrainFn, *, task: str, seed: int,
                   announce: Callable[[str], None] = print) -> LearningCurve:
    """Train on growing shares of the training split and score each model on validation."""
    stratify = task == "classification"
    base = at_most(splits.train, MAX_CURVE_ROWS, seed=seed, stratify=stratify)
    capped = MAX_CURVE_ROWS if base is not splits.train else None
    val = at_most(splits.val, MAX_CURVE_ROWS, seed=seed, stratify=stratify)
    points = []
    for fraction in FRACTIONS:
        if fraction == 1.0 and capped is None:
            model, rows = trained, len(base)  # the pipeline's own model: no retraining
        else:
            part = subsample(base, fraction, seed=seed, stratify=stratify)
            announce(f"learning curve: training on {fraction:.0%} ({len(part)} rows)")
            model, rows = train(Splits(part, val, splits.test)), len(part)
        val_score, val_loss = score(model, val, task)
        points.append(CurvePoint(fraction, rows, val_score, val_loss))
    return LearningCurve("macro_f1" if stratify else "r2", tuple(points), capped, len(val))


def plot_learning_curve(curve: LearningCurve, path: Path) -> Path:
    import matplotlib.pyplot as plt

    rows = [p.train_rows for p in curve.points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(rows, [p.val_score for p in curve.points], marker="o")
    left.set(title=f"Validation {curve.metric} vs training rows", xlabel="training rows",
             ylabel=curve.metric)
    right.plot(rows, [p.val_loss for p in curve.points], marker="o", color="tab:orange")
    right.set(title="Validation loss vs training rows", xlabel="training rows", ylabel="loss")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    capped = f" (a {curve.capped_at:,}-row subsample)" if curve.capped_at else ""
    fig.suptitle(f"Learning curve{capped}: {curve.verdict.split(' (')[0]}", fontsize=10)
    return save_figure(fig, path)
