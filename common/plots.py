"""PNG plots with matplotlib's Agg backend (no display needed), saved and their paths returned."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # chosen before pyplot is imported: no display needed
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def save_figure(fig: Figure, path: Path) -> Path:
    """Save ``fig`` as PNG, creating the folder, and free its memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_loss_curves(
    curves: dict[str, Sequence[float]],
    path: Path,
    *,
    title: str = "Loss per epoch",
    xlabel: str = "epoch",
    log_scale: bool = False,
    threshold: float | None = None,
) -> Path:
    """One line per named curve (e.g. ``{"train": [...], "validation": [...]}``)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        if len(values):
            ax.plot(range(1, len(values) + 1), values, marker="." if len(values) < 40 else None,
                    label=name)
    if threshold is not None:
        ax.axhline(threshold, color="grey", linestyle="--", label=f"loss bar {threshold:.4g}")
    if log_scale:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel="loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


MAX_CONFUSION_CLASSES = 20  # beyond this a square of labels is unreadable and its memory grows


def top_classes(matrix: np.ndarray, labels: Sequence[str], keep: int = MAX_CONFUSION_CLASSES
                ) -> tuple[np.ndarray, list[str]]:
    """The ``keep - 1`` classes with the most true examples, the rest summed into "other".

    Every count stays in the matrix (its total is unchanged); only the rare classes lose their
    own row and column.
    """
    if len(labels) <= keep:
        return matrix, list(labels)
    order = np.argsort(-matrix.sum(axis=1), kind="stable")
    shown, rest = order[: keep - 1], order[keep - 1:]
    groups = [*([index] for index in shown), list(rest)]
    folded = np.array([[matrix[np.ix_(rows, cols)].sum() for cols in groups] for rows in groups])
    return folded, [*(labels[i] for i in shown), f"other ({len(rest)} classes)"]


def plot_confusion_matrix(
    matrix: np.ndarray, labels: Sequence[str], path: Path, *, title: str = "Confusion matrix"
) -> Path:
    """Counts per (true, predicted) pair; the diagonal is what the model got right.

    With more than :data:`MAX_CONFUSION_CLASSES` classes the most frequent ones are drawn and the
    others folded into one "other" row and column, so the figure's size and memory stay bounded.
    """
    if len(labels) > MAX_CONFUSION_CLASSES:
        title = f"{title}: top {MAX_CONFUSION_CLASSES - 1} of {len(labels)} classes"
    matrix, labels = top_classes(np.asarray(matrix), labels)
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    peak = matrix.max() if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center",
                color="white" if count > peak / 2 else "black")
    ax.set(title=title, xlabel="predicted", ylabel="true")
    return save_figure(fig, path)
