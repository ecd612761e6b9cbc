"""What every stage-5b lesson starts from: a stage-4 bundle's model and the texts to judge it on.

Quality comparisons need many texts: on 100 texts one message is a whole point of F1, so a
quantized model could look better or worse by chance. The evaluation set is ``--eval-data PATH``
when given: a file with the bundle's labels, read and cleaned by stage 4's own reader (any format
the pipeline takes). Otherwise it is the bundle's test split when that holds at least
:data:`MIN_EVAL_TEXTS` texts; for a smaller ``ham``/``spam`` bundle, the SMS Spam Collection
shipped with the course (``data/sms_spam_collection/``); for any other bundle, the small test
split, with the bars reported but not enforced. Rows whose text the bundle trained on are dropped
and counted, as are rows with a label the bundle does not know.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from common.errors import UsageError
from common.lesson import add_bundle_flag
from common.metrics import binary_metrics, classification_metrics
from common.paths import chosen_bundle
from stage3_text.sms_data import LABELS as SMS_LABELS
from stage3_text.sms_data import SHIPPED_COLLECTION_PATH, display_path
from stage4_own_data import (
    BundleModel,
    choose_columns,
    clean,
    label_ids,
    load_bundle_model,
    read_table,
    text_key,
)
from stage5b_on_device.measure import latency_p50_ms

MIN_EVAL_TEXTS = 1000  # below this the quality bars are reported, not enforced
QUICK_EVAL_TEXTS = 400  # --quick judges on at most this many texts
LATENCY_TEXTS = 50  # latency cycles through this many single texts


@dataclass
class TextSet:
    """Texts and their label ids (indices into the bundle's labels)."""

    texts: list[str]
    labels: np.ndarray
    name: str
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)


Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (word_ids, ngram_ids) → logits


def torch_runner(model: torch.nn.Module) -> Runner:
    """A PyTorch model as a :data:`Runner`, so every format is measured the same way."""
    model.eval()

    def run(word_ids: np.ndarray, ngram_ids: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(word_ids), torch.from_numpy(ngram_ids)).numpy()

    return run


@dataclass
class Judgement:
    """One model variant on the evaluation texts."""

    logits: np.ndarray
    predicted: np.ndarray
    quality: dict[str, float]
    latency_ms_p50: float


@dataclass
class Workload:
    """A bundle's fp32 model, its decision rule, and the evaluation texts, encoded once."""

    loaded: BundleModel
    eval_set: TextSet  # the texts quality is judged on
    latency_repeats: int = 100
    word_ids: np.ndarray = field(init=False)
    ngram_ids: np.ndarray = field(init=False)
    singles: list[tuple[np.ndarray, np.ndarray]] = field(init=False)

    def __post_init__(self) -> None:
        self.word_ids, self.ngram_ids = self.loaded.encoder.encode_batch(self.eval_set.texts)
        # latency is per request: one text, padded to its own length, as an app would send it
        self.singles = [self.loaded.encoder.encode_batch([text])
                        for text in self.eval_set.texts[:LATENCY_TEXTS]]

    @property
    def model(self) -> torch.nn.Module:
        return self.loaded.model

    @property
    def labels(self) -> tuple[str, ...]:
        return self.loaded.bundle.labels

    @property
    def positive_label(self) -> str | None:
        return self.loaded.bundle.positive_label

    @property
    def metric_name(self) -> str:
        """F1 of the positive class for a two-label bundle with one, macro F1 otherwise."""
        return f"f1_{self.positive_label}" if self.positive_label else "macro_f1"

    @property
    def bars_apply(self) -> bool:
        return len(self.eval_set) >= MIN_EVAL_TEXTS

    @cached_property
    def reference(self) -> Judgement:
        """The fp32 PyTorch model: what every other variant is compared with."""
        return self.judge(torch_runner(self.model))

    def split(self, name: str) -> TextSet:
        """One of the bundle's own splits (``train``, ``val``, ``test``)."""
        return read_split(self.loaded, name)

    def judge(self, run: Runner, *, batch_size: int = 256) -> Judgement:
        """Logits and quality on every evaluation text, and the p50 latency of one text."""
        logits = np.concatenate([
            run(self.word_ids[i:i + batch_size], self.ngram_ids[i:i + batch_size])
            for i in range(0, len(self.eval_set), batch_size)])
        predicted = self.decide(logits)

        def one(i: int) -> object:
            return run(*self.singles[i % len(self.singles)])

        return Judgement(logits, predicted, self.quality(predicted),
                         latency_p50_ms(one, self.latency_repeats))

    def decide(self, logits: np.ndarray) -> np.ndarray:
        """Label ids from logits by the bundle's rule (:func:`common.bundle.decide`)."""
        return self.loaded.decide(logits)

    def quality(self, predicted: np.ndarray) -> dict[str, float]:
        """The key metric (see :attr:`metric_name`) and accuracy on the evaluation texts."""
        if self.positive_label is None:
            scores = classification_metrics(self.eval_set.labels, predicted, self.labels)
            return {self.metric_name: float(scores["macro_f1"]),
                    "accuracy": float(scores["accuracy"])}
        positive = self.labels.index(self.positive_label)
        scores = binary_metrics((self.eval_set.labels == positive).astype(int),
                                (np.asarray(predicted) == positive).astype(int))
        return {self.metric_name: scores["f1"], "accuracy": scores["accuracy"]}


def add_workload_args(parser: argparse.ArgumentParser) -> None:
    add_bundle_flag(parser, "stage 4 model bundle")
    parser.add_argument("--eval-data", type=Path, default=None,
                        help="texts with the bundle's labels to judge quality on (any file the "
                             "stage 4 pipeline reads; default: the test split, or for a ham/spam "
                             f"bundle whose test split has fewer than {MIN_EVAL_TEXTS} texts the "
                             "shipped SMS Spam Collection)")


def load_workload(args: argparse.Namespace, *,
                  announce: Callable[[str], None] = print) -> Workload:
    """Load ``--bundle`` and choose the evaluation texts, saying which and how many."""
    root = chosen_bundle(args.bundle)
    loaded = load_bundle_model(root)
    if loaded.bundle.task != "classification":
        raise UsageError(f"bundle {root} is a regression model; stage 5b compresses classifiers")
    announce(f"bundle: {root} ({', '.join(loaded.bundle.labels)}; "
             f"model {loaded.bundle.model_version})")
    test = read_split(loaded, "test")
    if args.eval_data is not None:
        evaluation = read_eval_data(args.eval_data, loaded)
    elif len(test) < MIN_EVAL_TEXTS and set(loaded.bundle.labels) == set(SMS_LABELS):
        announce(f"  note: the test split has {len(test)} texts; quality bars need "
                 f"{MIN_EVAL_TEXTS}+, so a ham/spam bundle is judged on the shipped SMS Spam "
                 f"Collection ({display_path(SHIPPED_COLLECTION_PATH)})")
        evaluation = read_eval_data(SHIPPED_COLLECTION_PATH, loaded)
    else:
        evaluation = test
        if len(test) < MIN_EVAL_TEXTS:
            announce(f"  note: the test split has {len(test)} texts; quality bars need "
                     f"{MIN_EVAL_TEXTS}+ (pass --eval-data), so they are reported, not checked")
    if getattr(args, "quick", False) and len(evaluation) > QUICK_EVAL_TEXTS:
        evaluation = TextSet(evaluation.texts[:QUICK_EVAL_TEXTS],
                             evaluation.labels[:QUICK_EVAL_TEXTS], evaluation.name,
                             {**evaluation.dropped, "quick_mode": len(evaluation)
                              - QUICK_EVAL_TEXTS})
    dropped = ", ".join(f"{reason} {n}" for reason, n in evaluation.dropped.items() if n)
    announce(f"evaluation texts: {evaluation.name}, {len(evaluation)} kept"
             + (f" (dropped {dropped})" if dropped else ""))
    if len(evaluation) == 0:
        raise UsageError(f"no evaluation texts left in {evaluation.name}")
    quick = getattr(args, "quick", False)
    return Workload(loaded, evaluation, latency_repeats=20 if quick else 200)


def read_split(loaded: BundleModel, name: str) -> TextSet:
    """A bundle split (``splits/<name>.jsonl``), read by stage 4's reader."""
    table = read_table(loaded.bundle.split_path(name))
    labels = label_ids(table.values("label"), loaded.bundle.labels)
    return TextSet(table.values("text"), np.asarray(labels, dtype=np.int64),
                   f"bundle {name} split")


def read_eval_data(path: Path, loaded: BundleModel) -> TextSet:
    """``--eval-data``: read, clean and keep rows with known labels the bundle did not train on."""
    table = read_table(path)
    columns = choose_columns(table, None, None)
    cleaned = clean(table.values(columns.text), table.values(columns.label),
                    max_text_chars=loaded.bundle.max_text_chars, min_examples=1,
                    lines=table.lines, malformed=table.malformed)
    trained_on = {text_key(text) for text in read_split(loaded, "train").texts}
    known = {label: i for i, label in enumerate(loaded.bundle.labels)}
    reasons: Counter[str] = Counter({k: v for k, v in cleaned.rows_dropped.items() if v})
    texts, labels = [], []
    for text, label in zip(cleaned.texts, cleaned.labels, strict=True):
        if label not in known:
            reasons["unknown_label"] += 1
        elif text_key(text) in trained_on:
            reasons["in_train_split"] += 1
        else:
            texts.append(text)
            labels.append(known[label])
    return TextSet(texts, np.asarray(labels, dtype=np.int64), f"file:{Path(path).name}",
                   dict(reasons))
