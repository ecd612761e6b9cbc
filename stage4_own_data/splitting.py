"""Checks before training, and the train/validation/test split.

The checks that stop a run (bad data, exit 2): nothing left after cleaning, a single class, a
constant regression target, too few rows to split. The checks that are recorded (and fail the
run if they ever fail): no text in two splits (leakage), every class in every split.

The split is stratified (each split keeps the class shares) and seeded, so the same data and seed
give the same splits. Deduplication happened before, which is what makes "no leakage" true.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from common.errors import UsageError
from stage4_own_data.cleaning import Cleaned, Label, text_key

VAL_FRACTION = 0.15
TEST_FRACTION = 0.15
# What the guides advise: below this many rows per class the test figures are mostly noise.
ADVISED_ROWS_PER_CLASS = 50


@dataclass
class Split:
    texts: list[str]
    labels: list[Label]
    lines: list[int]  # the input line each row starts on, to trace a mistake back to its source

    def __len__(self) -> int:
        return len(self.texts)

    def write_jsonl(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as file:
            for text, label, line in zip(self.texts, self.labels, self.lines, strict=True):
                file.write(json.dumps({"text": text, "label": label, "line": line},
                                      ensure_ascii=False) + "\n")


@dataclass
class Splits:
    train: Split
    val: Split
    test: Split

    def items(self) -> list[tuple[str, Split]]:
        return [("train", self.train), ("val", self.val), ("test", self.test)]


def subsample(split: Split, fraction: float, *, seed: int, stratify: bool) -> Split:
    """A seeded share of ``split``'s rows; by class when ``stratify`` (each class keeps >= 1)."""
    rng = np.random.default_rng(seed)
    groups: dict[object, list[int]] = defaultdict(list)
    for index, label in enumerate(split.labels):
        groups[label if stratify else None].append(index)
    chosen: list[int] = []
    for indices in groups.values():
        take = max(1, round(fraction * len(indices)))
        chosen += rng.permutation(indices)[:take].tolist()
    chosen.sort()
    return Split([split.texts[i] for i in chosen], [split.labels[i] for i in chosen],
                 [split.lines[i] for i in chosen])


def at_most(split: Split, rows: int, *, seed: int, stratify: bool) -> Split:
    """``split`` itself if it has at most ``rows`` rows, otherwise a seeded subsample of that
    size: how the settings search and the learning curve bound their cost on large data."""
    if len(split) <= rows:
        return split
    return subsample(split, rows / len(split), seed=seed, stratify=stratify)


def check_trainable(cleaned: Cleaned, task: str) -> None:
    """Stop with one clear line when the cleaned data cannot train a model."""
    if cleaned.rows_kept == 0:
        reasons = ", ".join(f"{r} {n}" for r, n in cleaned.rows_dropped.items() if n)
        raise UsageError(f"every one of the {cleaned.rows_in} rows was dropped ({reasons}); "
                         "check the columns, --sep and --encoding")
    distinct = set(cleaned.labels)
    if task == "classification" and len(distinct) < 2:
        (only,) = distinct
        dropped = f" (rare labels dropped: {cleaned.rare_labels})" if cleaned.rare_labels else ""
        raise UsageError(f"only one class left after cleaning: {only!r} with {cleaned.rows_kept} "
                         f"rows{dropped}; a classifier needs at least two")
    if task == "regression" and len(distinct) < 2:
        raise UsageError("the regression target has one value only: nothing to learn")


def split_sizes(rows: int, classes: int) -> tuple[int, int, int]:
    """``(train, val, test)`` sizes: ~70/15/15, with at least one row per class in each."""
    n_test = max(classes, round(TEST_FRACTION * rows))
    n_val = max(classes, round(VAL_FRACTION * rows))
    return rows - n_test - n_val, n_val, n_test


def minimum_rows(classes: int) -> int:
    """The fewest rows that :func:`split_sizes` can split (every class once in every split)."""
    rows = 3 * classes
    while split_sizes(rows, classes)[0] < classes:
        rows += 1
    return rows


def split_data(cleaned: Cleaned, *, task: str, seed: int) -> Splits:
    """Stratified (classification) train/val/test split, ~70/15/15, seeded."""
    indices = list(range(cleaned.rows_kept))
    classes = len(set(cleaned.labels)) if task == "classification" else 1
    _, n_val, n_test = split_sizes(len(indices), classes)
    needed = minimum_rows(classes)
    if len(indices) < needed:
        per_class = f" ({classes} classes)" if task == "classification" else ""
        raise UsageError(f"{len(indices)} rows left after cleaning are too few to split into "
                         f"train, validation and test: at least {needed} are needed{per_class}; "
                         f"aim for {ADVISED_ROWS_PER_CLASS}+ rows per class")
    strata = cleaned.labels if task == "classification" else None
    try:
        rest, test = train_test_split(indices, test_size=n_test, random_state=seed,
                                      stratify=strata)
        rest_strata = [cleaned.labels[i] for i in rest] if strata is not None else None
        train, val = train_test_split(rest, test_size=n_val, random_state=seed,
                                      stratify=rest_strata)
    except ValueError as error:
        raise UsageError(f"cannot split the data by class: {error} (raise --min-examples)"
                         ) from None

    def take(part: list[int]) -> Split:
        part = sorted(part)
        return Split([cleaned.texts[i] for i in part], [cleaned.labels[i] for i in part],
                     [cleaned.source_lines[i] for i in part])

    return Splits(take(train), take(val), take(test))


def data_checks(splits: Splits, task: str) -> dict[str, bool]:
    """The checks recorded in the report and the summary (each must hold)."""
    keys = {name: {text_key(t) for t in split.texts} for name, split in splits.items()}
    checks = {
        "no text in both train and test": not keys["train"] & keys["test"],
        "no text in both train and validation": not keys["train"] & keys["val"],
        "no text in both validation and test": not keys["val"] & keys["test"],
    }
    if task == "classification":
        classes = set(splits.train.labels) | set(splits.val.labels) | set(splits.test.labels)
        checks["every class in every split"] = all(
            set(split.labels) == classes for _, split in splits.items())
    return checks
