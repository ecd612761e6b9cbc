"""Training on the split: stage 3's text classifier, for any number of classes or a number.

Classification reuses :func:`stage3_text.classifier.train_classifier` as is (class-weighted
cross-entropy, Adam, early stopping on the validation loss, :func:`common.training.fit`), with
stage 3's architecture: character n-grams across word boundaries and masked mean pooling. The
n-gram scope and the learning rate are not guessed: every candidate of :data:`DEFAULT_GRID`
(n-grams across words or within tokens at the ``--lr`` rate, and across words at stage 3's
slower rate) is trained and the one with the lowest validation loss is kept (the test split
plays no part); the card and metrics.json say which and why. The quick run trains only the
first candidate. On large data the cost stays bounded: the candidates are compared on a
:data:`MAX_SEARCH_ROWS`-row sample and only the chosen one trains on every row, and the batch and
the epochs follow the number of rows (:func:`training_config`).
Regression (``--task regression``, only when asked) is the same encoder with one output and a
mean squared error: targets are standardised for training (so the learning rate suits any unit)
and the scale is folded back into the last layer afterwards, so the saved model outputs the
target in its own units and a runtime needs no extra step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from common.bundle.textprep import TextEncoder, TextSpec, build_spec
from common.training import EpochRecord, History, RaggedBatches, adam, fit
from stage3_text.classifier import (
    ClassifierConfig,
    TextClassifier,
    TrainingConfig,
    encode_ragged,
    predict_logits,
    train_classifier,
)
from stage4_own_data.splitting import Splits, at_most


@dataclass(frozen=True)
class ModelSettings:
    """Size of the preprocessing and the model; the quick run uses a smaller one."""

    buckets: int = 1 << 15
    min_freq: int = 1
    embed_dim: int = 32
    hidden_dim: int = 0
    dropout: float = 0.5  # a few hundred rows: heavy dropout, or the n-gram table memorises them
    ngram_scope: str = "text"  # n-grams across words (stage 3's model) or within each token
    pooling: str = "mean"
    lr: float | None = None  # Adam's learning rate; None: the --lr flag

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_SETTINGS = ModelSettings()
STAGE3_LR = 5e-3  # stage 3's rate: slower, for files of thousands of rows
DEFAULT_GRID = (DEFAULT_SETTINGS, replace(DEFAULT_SETTINGS, ngram_scope="token"),
                replace(DEFAULT_SETTINGS, lr=STAGE3_LR))
QUICK_SETTINGS = ModelSettings(buckets=1 << 12, embed_dim=32)
MAX_SEARCH_ROWS = 20_000  # above this many training rows the grid is compared on a subsample
DEFAULT_BATCH, DEFAULT_EPOCHS = 32, 60
STEPS_PER_EPOCH = 500  # the batch grows past 32 rather than an epoch taking more steps
MAX_STEPS = 3_000  # optimizer steps of one training at most (never fewer than MIN_EPOCHS)
ROW_PASSES = 1_000_000  # rows × epochs of one training at most (never fewer than MIN_EPOCHS)
MIN_EPOCHS = 3
MAX_BATCH = 1_024


@dataclass
class Trained:
    """A trained model with everything needed to use it and to write it into a bundle."""

    model: TextClassifier
    spec: TextSpec
    config: ClassifierConfig
    history: History
    labels: tuple[str, ...]  # class names by id; empty for regression
    settings: ModelSettings = DEFAULT_SETTINGS
    # every candidate tried, with its validation loss; the chosen one is ``settings``
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def encoder(self) -> TextEncoder:
        return TextEncoder(self.spec)

    def selection_json(self) -> dict[str, Any]:
        """How the settings were chosen, for metrics.json and the model card."""
        return {"criterion": "lowest validation loss", "chosen": self.settings.to_json(),
                "candidates": self.candidates}


def label_ids(labels: list, classes: tuple[str, ...]) -> list[int]:
    index = {name: i for i, name in enumerate(classes)}
    return [index[label] for label in labels]


def train_model(
    splits: Splits,
    *,
    task: str,
    settings: ModelSettings | Sequence[ModelSettings],
    training: TrainingConfig | Callable[[int], TrainingConfig],
    generator: torch.Generator,
    device: torch.device,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = True,
    seed: int = 0,
) -> Trained:
    """Train each candidate of ``settings`` on train, stop on validation; keep the best.

    "Best" is the lowest validation loss: the test split never takes part in the choice. With
    more than :data:`MAX_SEARCH_ROWS` training rows the candidates are compared on a seeded
    subsample (train and validation), and the chosen one alone is trained on all the rows.
    ``training`` may be a function of the number of training rows (the batch and the epochs
    follow the data's size).
    """
    grid = [settings] if isinstance(settings, ModelSettings) else list(settings)
    sized = training if callable(training) else (lambda rows: training)
    search = _search_splits(splits, task, seed) if len(grid) > 1 else splits
    state = generator.get_state()
    results = []
    for index, candidate in enumerate(grid, start=1):
        rate = sized(len(search.train)).lr if candidate.lr is None else candidate.lr
        if len(grid) > 1:
            print(f"candidate {index}/{len(grid)}: n-grams within {_scope_words(candidate)}, "
                  f"{candidate.buckets} buckets, {candidate.embed_dim} dimensions, lr {rate:g}")
        generator.set_state(state)  # every candidate sees the same batches
        trained = _train_one(search, task=task, settings=replace(candidate, lr=rate),
                             training=replace(sized(len(search.train)), lr=rate),
                             generator=generator, device=device, on_epoch=on_epoch,
                             progress=progress)
        results.append(trained)
    best = min(results, key=lambda t: min(t.history.val_losses))
    candidates = [{**t.settings.to_json(), "val_loss": min(t.history.val_losses),
                   "best_epoch": t.history.best_epoch, "train_rows": len(search.train)}
                  for t in results]
    if len(grid) > 1:
        print(f"chosen on validation loss: n-grams within {_scope_words(best.settings)}, "
              f"lr {best.settings.lr:g} (val loss {min(best.history.val_losses):.4f})")
    if search is not splits:
        print(f"training the chosen settings on all {len(splits.train)} training rows")
        generator.set_state(state)
        best = _train_one(splits, task=task, settings=best.settings,
                          training=replace(sized(len(splits.train)), lr=best.settings.lr),
                          generator=generator, device=device, on_epoch=on_epoch,
                          progress=progress)
    best.candidates = candidates
    return best


def _search_splits(splits: Splits, task: str, seed: int) -> Splits:
    """The splits the settings are compared on: a subsample when the data is large."""
    if len(splits.train) <= MAX_SEARCH_ROWS:
        return splits
    stratify = task == "classification"
    print(f"settings search on a {MAX_SEARCH_ROWS:,}-row subsample of the {len(splits.train):,}"
          " training rows (and as many validation rows at most)")
    return Splits(at_most(splits.train, MAX_SEARCH_ROWS, seed=seed, stratify=stratify),
                  at_most(splits.val, MAX_SEARCH_ROWS, seed=seed, stratify=stratify),
                  splits.test)


def _scope_words(settings: ModelSettings) -> str:
    return "the whole text" if settings.ngram_scope == "text" else "each token"


def _train_one(splits: Splits, *, task: str, settings: ModelSettings, training: TrainingConfig,
               generator: torch.Generator, device: torch.device,
               on_epoch: Callable[[EpochRecord], None] | None, progress: bool) -> Trained:
    """Build the spec from the training texts only, then train on train, stop on validation."""
    spec = build_spec(splits.train.texts, min_freq=settings.min_freq, buckets=settings.buckets,
                      ngram_scope=settings.ngram_scope)
    encoder = TextEncoder(spec)
    classes = tuple(sorted(set(splits.train.labels))) if task == "classification" else ()
    config = ClassifierConfig.for_spec(spec, len(classes) or 1, embed_dim=settings.embed_dim,
                                       hidden_dim=settings.hidden_dim, dropout=settings.dropout,
                                       pooling=settings.pooling)
    model = TextClassifier(config)
    if task == "classification":
        history = train_classifier(
            model, encoder,
            (splits.train.texts, label_ids(splits.train.labels, classes)),
            (splits.val.texts, label_ids(splits.val.labels, classes)),
            training, generator=generator, device=device, progress=progress, on_epoch=on_epoch)
    else:
        history = _train_regressor(model, encoder, splits, training, generator, device, on_epoch,
                                   progress)
    return Trained(model.cpu().eval(), spec, config, history, classes, settings)


def _train_regressor(
    model: TextClassifier, encoder: TextEncoder, splits: Splits, training: TrainingConfig,
    generator: torch.Generator, device: torch.device,
    on_epoch: Callable[[EpochRecord], None] | None, progress: bool,
) -> History:
    targets = np.asarray(splits.train.labels, dtype=np.float64)
    mean, std = float(targets.mean()), float(targets.std()) or 1.0

    def batches(split, **options) -> RaggedBatches:
        scaled = (np.asarray(split.labels, dtype=np.float32) - mean) / std
        return RaggedBatches(*encode_ragged(encoder, split.texts),
                             torch.from_numpy(scaled.astype(np.float32)).unsqueeze(1), **options)

    optimizer = adam(model.parameters(), lr=training.lr, weight_decay=training.weight_decay,
                     device=device)
    history = fit(model, nn.MSELoss(), optimizer,
                  batches(splits.train, batch_size=training.batch_size, shuffle=True,
                          generator=generator),
                  epochs=training.epochs, device=device,
                  val_batches=batches(splits.val, batch_size=512), patience=training.patience,
                  progress=progress, desc="regressor", on_epoch=on_epoch)
    fold_target_scale(model, mean, std)
    return history


def predict_values(trained: Trained, texts: list[str]) -> np.ndarray:
    """A regression model's predictions, in the target's own units."""
    return predict_logits(trained.model, trained.encoder, texts)[:, 0].numpy().astype(float)


def fold_target_scale(model: TextClassifier, mean: float, std: float) -> None:
    """Make the last layer output ``y·std + mean``: the model then speaks the target's units."""
    last = model.head[-1]
    with torch.no_grad():
        last.weight.mul_(std)
        last.bias.mul_(std).add_(mean)


def training_config(*, quick: bool, epochs: int | None, lr: float, batch_size: int | None,
                    patience: int, rows: int) -> TrainingConfig:
    """Stage 3's training settings with this run's flags, for ``rows`` training rows.

    A flag left out follows the data's size, so that the cost of a training is bounded however
    many rows there are: the batch grows (up to :data:`MAX_BATCH`) so that an epoch takes at most
    :data:`STEPS_PER_EPOCH` steps, and the epochs shrink so that one training takes at most
    :data:`MAX_STEPS` steps and passes over at most :data:`ROW_PASSES` rows (never fewer than
    :data:`MIN_EPOCHS`). Files of up to 16,000 training rows keep 32 and 60 (15 quick).
    """
    if batch_size is None:
        wanted = math.ceil(rows / STEPS_PER_EPOCH)
        batch_size = min(MAX_BATCH, max(DEFAULT_BATCH, 1 << max(0, wanted - 1).bit_length()))
    if epochs is None:
        steps = math.ceil(max(rows, 1) / batch_size)
        epochs = min(DEFAULT_EPOCHS, max(MIN_EPOCHS, min(MAX_STEPS // steps,
                                                         ROW_PASSES // max(rows, 1))))
    return replace(TrainingConfig(), epochs=min(epochs, 15) if quick else epochs, lr=lr,
                   batch_size=batch_size, patience=patience)
