"""The text classifier trained as a linear SVM: squared hinge + L2, solved by L-BFGS.

With a linear head, :class:`~stage3_text.classifier.TextClassifier` is a linear model over its
pooled word and n-gram counts, whatever the embedding width: each word and n-gram adds one
number to the logit difference. Fix the head at ``-d/2, +d/2`` (``d`` a unit vector per table)
and that number is the row of the table along ``d``, so training the tables is exactly fitting
a linear SVM (scikit-learn's ``LinearSVC``) on those features:

    minimise  C · Σᵢ max(0, 1 − yᵢ zᵢ)²  +  ½ (word_penalty · ‖W‖² + ‖N‖²),   yᵢ = ±1,

with ``zᵢ`` the logit difference (spam − ham), ``W`` and ``N`` the word and n-gram tables. The
problem is convex, so full-batch L-BFGS reaches its one minimum: no learning rate, no epoch
count, and the tables start at zero so that rows never seen in training stay exactly zero.
``C`` trades fitting the training rows against small weights; ``word_penalty`` makes a word
cost more than an n-gram (1/0.3² ≈ 11.1 gives a word the weight of 0.3 n-grams).

The model is an ordinary ``TextClassifier`` afterwards: exported, quantised and served as any
other. Its probabilities are ``sigmoid(z / temperature)``; :func:`fit_temperature` picks the
temperature on held-out rows, which calibrates them without moving the decision ``z >= 0``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from common.bundle.textprep import TextEncoder
from stage3_text.classifier import TextClassifier, encode_ragged, predict_logits

# Tokens for the SVM: every run of visible characters between spaces (letters, digits,
# punctuation, symbols and combining marks), as the baseline's char_wb analyzer splits words.
SPACE_SEPARATED = r"[\p{L}\p{N}\p{P}\p{S}\p{M}]+"
# The model the SVM is fitted into (stage 3's default, stage 4's two-class candidate): one
# dimension holds a linear score; n-grams within each token, sqrt pooling (the stage 3 guide's
# comparison on validation).
SVM_MODEL = {"embed_dim": 1, "pooling": "sqrt", "ngram_scope": "token",
             "token_pattern": SPACE_SEPARATED}


@dataclass(frozen=True)
class MarginConfig:
    """One point of the SVM's settings (see the module docstring for what each one weighs)."""

    c: float = 30.0
    word_penalty: float = 1 / 0.3**2
    max_iter: int = 1000  # L-BFGS iterations at most; it stops once nothing changes any more


def margin_scores(logits: torch.Tensor) -> torch.Tensor:
    """The logit difference ``z`` (class 1 − class 0): the SVM's score, spam when ``z >= 0``."""
    return logits[:, 1] - logits[:, 0]


def fix_linear_head(model: TextClassifier) -> torch.Tensor:
    """Zero both tables and fix the head at ``∓ d/2``; ``d``, unit length along each table."""
    config = model.config
    if config.num_classes != 2 or config.hidden_dim or config.dropout:
        raise ValueError("the SVM formulation needs two classes, a linear head and no dropout")
    direction = torch.full((config.embed_dim,), 1 / math.sqrt(config.embed_dim))
    head = model.head[-1]
    with torch.no_grad():
        model.word_embedding.weight.zero_()
        model.ngram_embedding.weight.zero_()
        head.weight.copy_(torch.stack([-direction.repeat(2) / 2, direction.repeat(2) / 2]))
        head.bias.zero_()
    return direction


def pooled_features(encoder: TextEncoder, texts: Sequence[str], pooling: str) -> torch.Tensor:
    """The features the model's head sees, as a sparse ``[texts, words + n-gram rows]`` matrix:
    each id's count in its text over the text's id count (``"mean"``) or its square root."""
    spec = encoder.spec
    rows, columns, values = [], [], []
    for ids, offset in zip(encode_ragged(encoder, texts), (0, spec.vocab_size), strict=True):
        counts = np.maximum(ids.lengths, 1).astype(np.float64)
        divisors = np.sqrt(counts) if pooling == "sqrt" else counts
        rows.append(np.repeat(np.arange(len(texts)), ids.lengths))
        columns.append(ids.values.astype(np.int64) + offset)
        values.append(np.repeat(1 / divisors, ids.lengths))
    indices = torch.from_numpy(np.stack([np.concatenate(rows), np.concatenate(columns)]))
    return torch.sparse_coo_tensor(indices, torch.from_numpy(np.concatenate(values)),
                                   (len(texts), spec.vocab_size + spec.ngram_rows),
                                   check_invariants=True).coalesce()


def train_margin_classifier(model: TextClassifier, encoder: TextEncoder,
                            train: tuple[Sequence[str], Sequence[int]], config: MarginConfig,
                            *, progress: bool = True) -> list[float]:
    """Fit ``model`` (two classes, linear head, no dropout) as a linear SVM; the objective at
    every L-BFGS evaluation, last one last (the curve to plot).

    The model is linear in its tables, so the SVM is solved on the features it pools
    (:func:`pooled_features`, built once), in float64, and the weights are written into the
    tables along the head's fixed direction. The gradient is written out rather than left to
    autograd: two sparse products with the features in CSR form (one of them transposed) take
    about a millisecond for 3,600 texts, some 30 times less than autograd through a COO product.
    The objective is divided by ``C · rows``, which changes only the scale that L-BFGS's
    stopping tolerances see.
    """
    direction = fix_linear_head(model)
    texts, labels = train
    features = pooled_features(encoder, texts, model.config.pooling)
    with warnings.catch_warnings():  # torch marks the CSR layout beta; these two products are
        warnings.simplefilter("ignore", UserWarning)  # plain matrix-vector ones, tested here
        rows, transposed = features.to_sparse_csr(), features.t().coalesce().to_sparse_csr()
    signs = torch.as_tensor(np.asarray(labels, dtype=np.float64) * 2 - 1)
    vocab = encoder.spec.vocab_size
    scale = config.c * len(texts)
    penalties = torch.ones(features.shape[1], dtype=torch.float64)
    penalties[:vocab] = config.word_penalty
    weights = torch.zeros(features.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    evaluations = config.max_iter * 5 // 4  # L-BFGS's own default cap (line searches)
    optimizer = torch.optim.LBFGS([weights, bias], lr=1, max_iter=config.max_iter,
                                  max_eval=evaluations, history_size=20,
                                  tolerance_grad=1e-9, tolerance_change=1e-12,
                                  line_search_fn="strong_wolfe")
    objectives: list[float] = []
    bar = tqdm(total=evaluations, desc="L-BFGS", unit=" evaluations",
               disable=None if progress else True)

    @torch.no_grad()
    def closure() -> torch.Tensor:
        violation = F.relu(1 - signs * (rows @ weights + bias))  # of the margin, per text
        objective = (config.c * violation.pow(2).sum()
                     + 0.5 * (penalties * weights.pow(2)).sum()) / scale
        slope = -2 * config.c * signs * violation / scale  # ∂ objective / ∂ score, per text
        weights.grad = transposed @ slope + penalties * weights / scale
        bias.grad = slope.sum().reshape(1)
        objectives.append(objective.item())
        bar.update()
        bar.set_postfix(objective=f"{objectives[-1]:.5f}")
        return objective

    try:
        optimizer.step(closure)
    finally:
        bar.close()
    with torch.no_grad():  # a weight w along d: the pooled row adds w · (d · d) = w to z
        fitted = weights.to(torch.float32)[:, None] * direction
        model.word_embedding.weight.copy_(fitted[:vocab])
        model.ngram_embedding.weight.copy_(fitted[vocab:])
        model.head[-1].bias.copy_(torch.cat([-bias, bias]).to(torch.float32) / 2)
    model.eval()
    return objectives


def fit_temperature(scores: np.ndarray, labels: Sequence[int]) -> float:
    """The temperature ``T`` that makes ``sigmoid(z / T)`` the best probabilities for these
    scores ``z`` (lowest cross-entropy); the decision ``z >= 0`` does not move.

    The targets are Platt's, ``(positives + 1) / (positives + 2)`` and ``1 / (negatives + 2)``
    rather than 1 and 0: on rows the model separates perfectly, 0 and 1 would drive ``T`` to 0
    (every probability to certainty), and the held-out loss up.
    """
    z = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    positive = np.asarray(labels, dtype=bool)
    targets = torch.as_tensor(np.where(positive, (positive.sum() + 1) / (positive.sum() + 2),
                                       1 / ((~positive).sum() + 2)))
    log_inverse = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # log(1 / T)
    optimizer = torch.optim.LBFGS([log_inverse], lr=1, max_iter=100,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(z * log_inverse.exp(), targets)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(1 / log_inverse.detach().exp())


def apply_temperature(model: TextClassifier, temperature: float) -> None:
    """Divide the head by ``temperature``: the model's logits become ``z / T``."""
    with torch.no_grad():
        model.head[-1].weight.div_(temperature)
        model.head[-1].bias.div_(temperature)


class CalibratedFit(NamedTuple):
    """What :func:`fit_and_calibrate` did: the objective per L-BFGS evaluation, the
    temperature, and the validation scores ``z`` it was fitted on (before it)."""

    objectives: list[float]
    temperature: float
    val_scores: np.ndarray


def fit_and_calibrate(model: TextClassifier, encoder: TextEncoder,
                      train: tuple[Sequence[str], Sequence[int]],
                      val: tuple[Sequence[str], Sequence[int]], config: MarginConfig,
                      *, progress: bool = True) -> CalibratedFit:
    """The SVM fitted on ``train``, then its temperature fitted on ``val`` and applied: the
    model's probabilities are calibrated on rows it did not train on."""
    objectives = train_margin_classifier(model, encoder, train, config, progress=progress)
    scores = margin_scores(predict_logits(model, encoder, val[0])).numpy()
    temperature = fit_temperature(scores, val[1])
    apply_temperature(model, temperature)
    return CalibratedFit(objectives, temperature, scores)
