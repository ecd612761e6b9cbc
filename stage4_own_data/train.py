"""Training on the split: stage 3's text classifier, for any number of classes or a number.

Classification reuses stage 3's two trainers as they are. Adam
(:func:`stage3_text.classifier.train_classifier`: class-weighted cross-entropy, early stopping
on the validation loss, :func:`common.training.fit`) trains stage 3's architecture with
character n-grams across word boundaries and masked mean pooling. With two classes the linear
SVM of stage 3 (:mod:`stage3_text.margin`: squared hinge + L2 by L-BFGS, its probabilities
calibrated on validation) joins as a candidate, on up to :data:`MAX_SVM_ROWS` training rows
(it holds every row's features in memory at once). The settings are not guessed: every
candidate of :func:`candidate_grid` (Adam with n-grams across words or within tokens at the
``--lr`` rate, across words at stage 3's slower rate, and the SVM) is trained and the one with
the lowest validation cross-entropy is kept (the test split plays no part); the card and
metrics.json say which and why. The quick run trains only the first candidate. On large data
the cost stays bounded: the candidates are compared on a :data:`MAX_SEARCH_ROWS`-row sample and
only the chosen one trains on every row, and the batch and the epochs follow the number of rows
(:func:`training_config`).
Regression (``--task regression``, only when asked) is the same encoder with one output and a
mean squared error: targets are standardised for training (so the learning rate suits any unit)
and the scale is folded back into the last layer afterwards, so the saved model outputs the
target in its own units and a runtime needs no extra step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from common.bundle.textprep import DEFAULT_TOKEN_PATTERN, TextEncoder, TextSpec, build_spec
from common.plots import plot_loss_curves
from common.training import EpochRecord, History, RaggedBatches, adam, fit
from stage3_text.classifier import (
    ClassifierConfig,
    TextClassifier,
    TrainingConfig,
    encode_ragged,
    mean_loss,
    predict_logits,
    train_classifier,
)
from stage3_text.margin import (
    SVM_MODEL,
    MarginConfig,
    apply_temperature,
    fit_and_calibrate,
    train_margin_classifier,
)
from stage4_own_data.splitting import Splits, at_most


@dataclass(frozen=True)
class ModelSettings:
    """How to train, the preprocessing and the model's size; the quick run uses a smaller one."""

    trainer: str = "adam"  # "adam": cross-entropy, mini-batches; "svm": two classes only
    buckets: int = 1 << 15
    min_freq: int = 1
    embed_dim: int = 32
    hidden_dim: int = 0
    dropout: float = 0.5  # a few hundred rows: heavy dropout, or the n-gram table memorises them
    ngram_scope: str = "text"  # n-grams across words (stage 3's model) or within each token
    pooling: str = "mean"
    token_pattern: str = DEFAULT_TOKEN_PATTERN
    lr: float | None = None  # Adam's learning rate; None: the --lr flag
    c: float | None = None  # the SVM's C (the weight of the training rows against the L2)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for the log and the model card."""
        scope = "the whole text" if self.ngram_scope == "text" else "each token"
        if self.trainer == "svm":
            return f"linear SVM (C {self.c:g}), n-grams within {scope}, {self.pooling} pooling"
        rate = "" if self.lr is None else f", learning rate {self.lr:g}"
        return f"Adam, n-grams within {scope}, {self.embed_dim} dimensions{rate}"


DEFAULT_SETTINGS = ModelSettings()
STAGE3_LR = 5e-3  # stage 3's rate: slower, for files of thousands of rows
DEFAULT_GRID = (DEFAULT_SETTINGS, replace(DEFAULT_SETTINGS, ngram_scope="token"),
                replace(DEFAULT_SETTINGS, lr=STAGE3_LR))
# Stage 3's SVM as stage 3 trains it: words seen twice, 2^16 buckets, and no dropout (its L2
# penalty is what keeps the weights small).
SVM_SETTINGS = ModelSettings(trainer="svm", buckets=1 << 16, min_freq=2, dropout=0.0,
                             c=MarginConfig.c, **SVM_MODEL)
MAX_SVM_ROWS = 100_000  # its features: ~210 ids a short message, ~5 KB a row in float64
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
    labels: tuple[str, ...]  # class names by id; empty for regression
    settings: ModelSettings
    # what candidates are compared by: the validation cross-entropy (classification) or the
    # validation MSE of the standardised target (regression)
    val_loss: float
    history: History = field(default_factory=History)  # Adam's epochs (empty for the SVM)
    svm_objectives: list[float] = field(default_factory=list)  # per L-BFGS evaluation
    temperature: float | None = None  # the SVM's: probabilities are sigmoid(z / temperature)
    refit_rows: int | None = None  # rows of the refit on train + validation, if there was one
    # every candidate tried, with its validation loss; the chosen one is ``settings``
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def encoder(self) -> TextEncoder:
        return TextEncoder(self.spec)

    def selection_json(self) -> dict[str, Any]:
        """How the settings were chosen, for metrics.json and the model card."""
        return {"criterion": "lowest validation loss", "chosen": self.settings.to_json(),
                "candidates": self.candidates}

    def training_json(self) -> dict[str, Any]:
        """How the chosen model trained, for metrics.json."""
        if self.settings.trainer == "svm":
            return {"svm_objective": self.svm_objectives,
                    "lbfgs_evaluations": len(self.svm_objectives),
                    "temperature": self.temperature, "refit_rows": self.refit_rows}
        history = self.history
        return {"train_loss": history.train_losses, "val_loss": history.val_losses,
                "best_epoch": history.best_epoch, "stopped_early": history.stopped_early}

    def plot_losses(self, path: Path, task: str) -> Path:
        """The loss as it trained: per epoch (Adam) or per L-BFGS evaluation (the SVM)."""
        if self.settings.trainer == "svm":
            rows = "train + validation" if self.refit_rows else "train"
            return plot_loss_curves({f"{rows} (squared hinge + L2)": self.svm_objectives}, path,
                                    title=f"SVM objective per L-BFGS evaluation ({task})",
                                    xlabel="L-BFGS evaluation")
        return plot_loss_curves({"train": self.history.train_losses,
                                 "validation": self.history.val_losses}, path,
                                title=f"Loss per epoch ({task})")


def label_ids(labels: list, classes: tuple[str, ...]) -> list[int]:
    index = {name: i for i, name in enumerate(classes)}
    return [index[label] for label in labels]


def candidate_grid(splits: Splits, task: str) -> tuple[ModelSettings, ...]:
    """The settings a full run compares: :data:`DEFAULT_GRID`, and the SVM for two classes
    (on at most :data:`MAX_SVM_ROWS` training rows)."""
    two_classes = task == "classification" and len(set(splits.train.labels)) == 2
    if not two_classes:
        return DEFAULT_GRID
    if len(splits.train) > MAX_SVM_ROWS:
        print(f"the SVM candidate is left out: {len(splits.train):,} training rows, more than "
              f"the {MAX_SVM_ROWS:,} whose features it holds in memory at once")
        return DEFAULT_GRID
    return (*DEFAULT_GRID, SVM_SETTINGS)


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

    "Best" is the lowest validation loss (:attr:`Trained.val_loss`): the test split never takes
    part in the choice. Both trainers use validation once more before that loss is read, Adam to
    pick its epoch and the SVM to fit its one temperature, so each candidate's figure is a
    little optimistic in the same way. With more than :data:`MAX_SEARCH_ROWS` training rows the
    candidates are compared on a seeded subsample (train and validation), and the chosen one
    alone is trained on all the rows. ``training`` may be a function of the number of training
    rows (the batch and the epochs follow the data's size).
    """
    grid = [settings] if isinstance(settings, ModelSettings) else list(settings)
    sized = training if callable(training) else (lambda rows: training)
    search = _search_splits(splits, task, seed) if len(grid) > 1 else splits
    state = generator.get_state()
    results = []
    for index, candidate in enumerate(grid, start=1):
        if candidate.trainer == "adam" and candidate.lr is None:
            candidate = replace(candidate, lr=sized(len(search.train)).lr)
        if len(grid) > 1:
            print(f"candidate {index}/{len(grid)}: {candidate.describe()}, "
                  f"{candidate.buckets} buckets")
        generator.set_state(state)  # every candidate sees the same batches
        results.append(_train_one(search, task=task, settings=candidate,
                                  training=_with_rate(sized(len(search.train)), candidate),
                                  generator=generator, device=device, on_epoch=on_epoch,
                                  progress=progress))
    best = min(results, key=lambda t: t.val_loss)
    candidates = [{**t.settings.to_json(), "description": t.settings.describe(),
                   "val_loss": t.val_loss,
                   "best_epoch": t.history.best_epoch, "train_rows": len(search.train)}
                  for t in results]
    if len(grid) > 1:
        print(f"chosen on validation loss: {best.settings.describe()} "
              f"(val loss {best.val_loss:.4f})")
    if search is not splits:
        print(f"training the chosen settings on all {len(splits.train)} training rows")
        generator.set_state(state)
        best = _train_one(splits, task=task, settings=best.settings,
                          training=_with_rate(sized(len(splits.train)), best.settings),
                          generator=generator, device=device, on_epoch=on_epoch,
                          progress=progress)
    best.candidates = candidates
    return best


def _with_rate(training: TrainingConfig, settings: ModelSettings) -> TrainingConfig:
    return training if settings.lr is None else replace(training, lr=settings.lr)


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


def _train_one(splits: Splits, *, task: str, settings: ModelSettings, training: TrainingConfig,
               generator: torch.Generator, device: torch.device,
               on_epoch: Callable[[EpochRecord], None] | None, progress: bool) -> Trained:
    """Build the spec from the training texts only, then train on train, stop on validation."""
    classes = tuple(sorted(set(splits.train.labels))) if task == "classification" else ()
    model, encoder = _new_model(splits.train.texts, settings, len(classes) or 1)
    spec, config = encoder.spec, model.config
    if task == "regression":
        history = _train_regressor(model, encoder, splits, training, generator, device, on_epoch,
                                   progress)
        return Trained(model.cpu().eval(), spec, config, classes, settings,
                       min(history.val_losses), history=history)
    train = (splits.train.texts, label_ids(splits.train.labels, classes))
    val = (splits.val.texts, label_ids(splits.val.labels, classes))
    if settings.trainer == "svm":
        fitted = fit_and_calibrate(model, encoder, train, val, MarginConfig(c=settings.c),
                                   progress=progress)
        return Trained(model, spec, config, classes, settings,
                       mean_loss(model, encoder, *val, device=torch.device("cpu")),
                       svm_objectives=fitted.objectives, temperature=fitted.temperature)
    history = train_classifier(model, encoder, train, val, training, generator=generator,
                               device=device, progress=progress, on_epoch=on_epoch)
    model = model.cpu().eval()
    return Trained(model, spec, config, classes, settings,
                   mean_loss(model, encoder, *val, device=torch.device("cpu")), history=history)


def _new_model(texts: list[str], settings: ModelSettings, outputs: int
               ) -> tuple[TextClassifier, TextEncoder]:
    """The preprocessing fitted on ``texts`` (their vocabulary) and a fresh model for it."""
    spec = build_spec(texts, min_freq=settings.min_freq, buckets=settings.buckets,
                      ngram_scope=settings.ngram_scope, token_pattern=settings.token_pattern)
    config = ClassifierConfig.for_spec(spec, outputs, embed_dim=settings.embed_dim,
                                       hidden_dim=settings.hidden_dim, dropout=settings.dropout,
                                       pooling=settings.pooling)
    return TextClassifier(config), TextEncoder(spec)


def refit_on_train_and_val(trained: Trained, splits: Splits, *, progress: bool = True
                           ) -> Trained:
    """The chosen SVM fitted again on train + validation, as stage 3 refits; other models as
    they are.

    Every choice is made by then (the settings, the temperature, the threshold, all on the
    validation rows with the model trained on train), so the refit only lets the final model
    learn from the validation rows too; the test split still takes no part. The SVM's fit is
    convex and takes seconds, with no epoch count to carry over; an Adam model would have to
    train once more for as long again, so it is kept as validation chose it.
    """
    if trained.settings.trainer != "svm":
        return trained
    texts = splits.train.texts + splits.val.texts
    labels = label_ids(splits.train.labels + splits.val.labels, trained.labels)
    print(f"refitting the SVM on train + validation ({len(texts)} rows)")
    model, encoder = _new_model(texts, trained.settings, len(trained.labels))
    objectives = train_margin_classifier(model, encoder, (texts, labels),
                                         MarginConfig(c=trained.settings.c), progress=progress)
    apply_temperature(model, trained.temperature)  # the one validation chose
    return replace(trained, model=model, spec=encoder.spec, config=model.config,
                   svm_objectives=objectives, refit_rows=len(texts))


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
