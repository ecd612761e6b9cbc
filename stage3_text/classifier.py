"""A fastText-style text classifier built only from ops every exporter handles.

Two ``nn.Embedding`` tables (padding id 0): one for word ids, one for hashed character n-gram ids
(``common.bundle.textprep``). Each table is averaged over the real (non-padding) positions —
masked mean pooling — the two averages are concatenated, and a linear layer (or a small MLP)
gives one logit per class. No ``nn.EmbeddingBag``: it does not survive ExecuTorch, Core ML or
torchao, and turns into a ``Loop`` in ONNX; an embedding lookup plus a masked mean is the same
maths in plain ops.

Any number of classes: stage 4 reuses :class:`ClassifierConfig`, :class:`TextClassifier` and
:func:`train_classifier` for its multi-class bundles (the config is plain data for a manifest).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from common.bundle.textprep import PAD_ID, RaggedBuilder, RaggedIds, TextEncoder, TextSpec
from common.memory import release_freed_memory
from common.training import EpochRecord, History, RaggedBatches, adam, evaluate, fit
from common.weights import save_safetensors

POOLINGS = ("mean", "sqrt")
ENCODE_CHUNK = 10_000  # texts encoded at a time: a progress bar step, bounded intermediates
EVAL_BATCH = 512


@dataclass(frozen=True)
class ClassifierConfig:
    """The architecture, as data: enough to rebuild the model before loading its weights."""

    vocab_size: int  # rows of the word table (the spec's vocabulary, <pad> and <unk> included)
    ngram_rows: int  # rows of the n-gram table: the spec's buckets + 1 (padding)
    num_classes: int
    embed_dim: int = 64
    hidden_dim: int = 0  # 0: a linear head on the pooled vectors; > 0: one ReLU hidden layer
    dropout: float = 0.2  # on the pooled vectors, while training
    pooling: str = "mean"  # "mean": sum / count; "sqrt": sum / sqrt(count), an L2-like scale

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")

    @classmethod
    def for_spec(cls, spec: TextSpec, num_classes: int, **options: Any) -> ClassifierConfig:
        return cls(spec.vocab_size, spec.ngram_rows, num_classes, **options)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClassifierConfig:
        return cls(**data)


def sum_pool(table: nn.Embedding, ids: torch.Tensor, pooling: str = "mean") -> torch.Tensor:
    """The masked mean of ``table(ids)``: the sum over the real (non-padding) positions, divided
    by their count (``"mean"``) or its square root (``"sqrt"``); 0 for an all-pad row.

    ``[batch, time]`` ids → ``[batch, dim]``. No mask multiply is needed: the table's padding row
    is zero (``padding_idx`` creates it zero and never gives it a gradient), so padded positions
    add nothing to a plain sum. That is one lookup and one sum, every exporter's ops, and in ONNX
    Runtime a third of the time of multiplying ``[batch, time, dim]`` by a mask first.
    With ``"sqrt"`` a text of n distinct features gets the scale a unit-length (L2-normalised)
    bag of features has, as in TF-IDF: long messages are not averaged into blandness.
    """
    return table(ids).sum(dim=1) / _pool_divisor(ids != PAD_ID, pooling)


def bag_pool(table: nn.Embedding, ids: torch.Tensor, pooling: str = "mean") -> torch.Tensor:
    """:func:`sum_pool` computed by ``embedding_bag``: the same sums without a
    ``[batch, time, dim]`` tensor in memory, so training is several times faster.

    The real ids are handed over flat with each row's start (``offsets``), padding left out:
    ``embedding_bag`` with ``padding_idx`` skips pads one by one and took three times as long
    here. Used only while training: exported (eval-mode) models keep the plain ops, which every
    mobile exporter handles; a test checks that the two formulations agree.
    """
    real = ids != PAD_ID
    counts = real.sum(dim=1)
    sums = F.embedding_bag(ids[real], table.weight, torch.cumsum(counts, 0) - counts,
                           mode="sum")
    return sums / _pool_divisor(real, pooling)


def _pool_divisor(real: torch.Tensor, pooling: str) -> torch.Tensor:
    count = real.sum(dim=1, keepdim=True).to(torch.float32).clamp(min=1.0)
    return count.sqrt() if pooling == "sqrt" else count


class TextClassifier(nn.Module):
    """``(word_ids [B, Tw], ngram_ids [B, Tn]) → logits [B, num_classes]``."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.word_embedding = nn.Embedding(config.vocab_size, config.embed_dim,
                                           padding_idx=PAD_ID)
        self.ngram_embedding = nn.Embedding(config.ngram_rows, config.embed_dim,
                                            padding_idx=PAD_ID)
        pooled = 2 * config.embed_dim
        if config.hidden_dim:
            self.head: nn.Module = nn.Sequential(
                nn.Dropout(config.dropout), nn.Linear(pooled, config.hidden_dim), nn.ReLU(),
                nn.Dropout(config.dropout), nn.Linear(config.hidden_dim, config.num_classes))
        else:
            self.head = nn.Sequential(nn.Dropout(config.dropout),
                                      nn.Linear(pooled, config.num_classes))

    def forward(self, word_ids: torch.Tensor, ngram_ids: torch.Tensor) -> torch.Tensor:
        pooling = self.config.pooling
        if self.training:
            words = bag_pool(self.word_embedding, word_ids, pooling)
            ngrams = bag_pool(self.ngram_embedding, ngram_ids, pooling)
        else:
            words = sum_pool(self.word_embedding, word_ids, pooling)
            ngrams = sum_pool(self.ngram_embedding, ngram_ids, pooling)
        return self.head(torch.cat([words, ngrams], dim=1))

    def init_word_vectors(self, vectors: torch.Tensor) -> None:
        """Start the word table from pre-trained vectors (e.g. word2vec), one row per word id."""
        if vectors.shape != self.word_embedding.weight.shape:
            raise ValueError(f"word vectors {tuple(vectors.shape)} do not fit the table "
                             f"{tuple(self.word_embedding.weight.shape)}")
        with torch.no_grad():
            self.word_embedding.weight.copy_(vectors)
            self.word_embedding.weight[PAD_ID].zero_()


@dataclass(frozen=True)
class TrainingConfig:
    """How to train: Adam, mini-batches, early stopping on the validation loss."""

    epochs: int = 40
    lr: float = 5e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    patience: int = 5  # epochs without a better validation loss before stopping
    balanced: bool = True  # weight classes by n / (k · count): the rare class counts as much
    label_smoothing: float = 0.0  # the targets' share spread over all classes (0: one-hot)


def encode_tensors(encoder: TextEncoder, texts: Sequence[str]) -> tuple[torch.Tensor, ...]:
    """Texts → padded ``(word_ids, ngram_ids)`` int64 tensors, via the one shared encoder."""
    words, ngrams = encoder.encode_batch(list(texts))
    return torch.from_numpy(words), torch.from_numpy(ngrams)


def encode_ragged(encoder: TextEncoder, texts: Sequence[str], *, progress: bool = False,
                  desc: str = "encoding") -> tuple[RaggedIds, RaggedIds]:
    """Texts → ragged ``(word_ids, ngram_ids)`` for training or scoring a set of any size.

    Encoded :data:`ENCODE_CHUNK` texts at a time (a bar counts them) and stored flat in the
    smallest unsigned type that holds the ids (``uint16`` for up to 65,535 buckets), never as
    one padded int64 matrix: :class:`common.training.RaggedBatches` pads batch by batch.
    """
    largest = (encoder.spec.vocab_size - 1, encoder.spec.ngram_rows - 1)
    builders = tuple(RaggedBuilder(np.min_scalar_type(ids)) for ids in largest)
    with tqdm(total=len(texts), desc=desc, unit=" texts", unit_scale=True,
              disable=None if progress else True) as bar:
        for start in range(0, len(texts), ENCODE_CHUNK):
            chunk = list(texts[start:start + ENCODE_CHUNK])
            for builder, ids in zip(builders, encoder.encode_ragged(chunk), strict=True):
                builder.append(ids)
            bar.update(len(chunk))
    words, ngrams = (builder.build() for builder in builders)
    if len(texts) > ENCODE_CHUNK:  # the chunks and the hashing's temporaries: give them back
        release_freed_memory()
    return words, ngrams


def class_weights(labels: Sequence[int], num_classes: int) -> torch.Tensor:
    """``n / (k · count_c)`` per class (scikit-learn's "balanced"): 1.0 everywhere when balanced."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    if (counts == 0).any():
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(f"class {missing} has no training examples")
    return torch.tensor(len(labels) / (num_classes * counts), dtype=torch.float32)


def train_classifier(
    model: TextClassifier,
    encoder: TextEncoder,
    train: tuple[Sequence[str], Sequence[int]],
    val: tuple[Sequence[str], Sequence[int]] | None,
    config: TrainingConfig,
    *,
    generator: torch.Generator,
    device: torch.device,
    progress: bool = True,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> History:
    """Fit ``model`` on ``(texts, label ids)`` through :func:`common.training.fit`.

    Cross-entropy (class-weighted when ``config.balanced``), Adam, and with ``val`` early
    stopping on the validation loss (the best epoch's weights are restored). Without ``val`` it
    trains for exactly ``config.epochs``: the refit on train + validation for the epoch count
    that validation chose. The test set never enters.
    """
    weights = class_weights(train[1], model.config.num_classes) if config.balanced else None
    loss_fn = nn.CrossEntropyLoss(weight=None if weights is None else weights.to(device),
                                  label_smoothing=config.label_smoothing)
    optimizer = adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                     device=device)
    train_batches = RaggedBatches(
        *encode_ragged(encoder, train[0], progress=progress, desc="encoding train"),
        _targets(train[1]), batch_size=config.batch_size, shuffle=True, generator=generator)
    val_batches = None if val is None else RaggedBatches(
        *encode_ragged(encoder, val[0], progress=progress, desc="encoding validation"),
        _targets(val[1]), batch_size=EVAL_BATCH)
    return fit(model, loss_fn, optimizer, train_batches, epochs=config.epochs, device=device,
               val_batches=val_batches, patience=None if val is None else config.patience,
               progress=progress, desc="classifier", on_epoch=on_epoch)


def _targets(labels: Sequence[int]) -> torch.Tensor:
    return torch.as_tensor(np.asarray(labels, dtype=np.int64))


def predict_proba(model: TextClassifier, encoder: TextEncoder, texts: Sequence[str], *,
                  device: torch.device | None = None, batch_size: int = EVAL_BATCH
                  ) -> np.ndarray:
    """Class probabilities ``[len(texts), num_classes]`` (softmax of the logits)."""
    logits = predict_logits(model, encoder, texts, device=device, batch_size=batch_size)
    return torch.softmax(logits, dim=1).numpy()


def predict_logits(model: TextClassifier, encoder: TextEncoder, texts: Sequence[str], *,
                   device: torch.device | None = None, batch_size: int = EVAL_BATCH
                   ) -> torch.Tensor:
    """The eval-mode model's outputs ``[len(texts), outputs]``, batch by batch, on the CPU."""
    device = device or next(model.parameters()).device
    batches = RaggedBatches(*encode_ragged(encoder, texts), batch_size=batch_size)
    model.eval()
    with torch.no_grad():
        return torch.cat([model(words.to(device), ngrams.to(device)).cpu()
                          for words, ngrams in batches])


def mean_loss(model: TextClassifier, encoder: TextEncoder, texts: Sequence[str],
              labels: Sequence[int], *, device: torch.device) -> float:
    """Plain (unweighted) cross-entropy of ``model`` on ``texts``: the lesson's loss figure."""
    batches = RaggedBatches(*encode_ragged(encoder, texts), _targets(labels),
                            batch_size=EVAL_BATCH)
    return evaluate(model, nn.CrossEntropyLoss(), batches, device).loss


def save_classifier(model: TextClassifier, path: Path) -> Path:
    """Weights as safetensors, the architecture in its metadata: one file rebuilds the model."""
    return save_safetensors(model, path, {"config": json.dumps(model.config.to_json())})


def load_classifier(path: Path) -> TextClassifier:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as handle:
        config = ClassifierConfig.from_json(json.loads(handle.metadata()["config"]))
    model = TextClassifier(config)
    model.load_state_dict(load_file(str(path)))
    return model.eval()
