"""The torch-free text classifier runtime: spec → ids → ONNX Runtime → labels and probabilities.

Imports only numpy, onnxruntime and the standard library (an import-linter contract keeps torch,
scikit-learn and pandas out), so the REST service (stage 5a), the offline app (stage 5b) and any
packaged wheel run a trained model without PyTorch. Preprocessing is :mod:`common.textprep`, the
very code the PyTorch side trained with, so the ids cannot drift apart.

Example::

    runtime = TextClassifierRuntime.from_files(
        "runs/stage3_text/spam_classifier/spec.json", "runs/stage3_text/spam_classifier/model.onnx",
        labels=["ham", "spam"], positive_label="spam", threshold=0.5)
    runtime.predict(["WIN a FREE prize, call now!"])  # [Prediction(label='spam', ...)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from common.textprep import SpecError, TextEncoder, TextSpec, check_test_vectors, load_spec

# The ONNX model's interface (``stage3_text.onnx_export`` writes it): two int64 id matrices
# ``[batch, time]`` in, one float matrix of logits ``[batch, classes]`` out.
INPUT_NAMES = ("word_ids", "ngram_ids")
OUTPUT_NAME = "logits"


@dataclass(frozen=True)
class Prediction:
    """The predicted label, its probability, and the probability of every label."""

    label: str
    probability: float
    probabilities: dict[str, float]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)  # stable: exp never overflows
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class TextClassifierRuntime:
    """Classify raw strings with an ONNX text classifier and its preprocessing spec.

    With two labels and a ``positive_label``, the positive label wins when its probability is at
    least ``threshold`` (raise it for fewer false alarms, lower it to miss fewer positives);
    otherwise the most probable label wins.
    """

    def __init__(self, spec: TextSpec, model_path: str | Path, labels: Sequence[str], *,
                 positive_label: str | None = None, threshold: float = 0.5,
                 batch_size: int = 256, threads: int | None = None) -> None:
        self.labels = tuple(labels)
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"need two or more distinct labels, got {list(self.labels)}")
        if positive_label is not None and (len(self.labels) != 2
                                           or positive_label not in self.labels):
            raise ValueError("positive_label needs exactly two labels and must be one of them")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.encoder = TextEncoder(spec)
        self.positive_label, self.threshold, self.batch_size = positive_label, threshold, batch_size
        options = ort.SessionOptions()
        if threads is not None:
            # A server answers many tiny calls: a fixed thread count and no busy-waiting between
            # them, so concurrent requests do not fight over the cores.
            options.intra_op_num_threads = options.inter_op_num_threads = threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_path), options,
                                            providers=["CPUExecutionProvider"])
        self._check_interface()

    @classmethod
    def from_files(cls, spec_path: str | Path, model_path: str | Path, labels: Sequence[str],
                   **options: object) -> TextClassifierRuntime:
        return cls(load_spec(Path(spec_path)), model_path, labels, **options)  # type: ignore[arg-type]

    def _check_interface(self) -> None:
        inputs = tuple(i.name for i in self.session.get_inputs())
        outputs = self.session.get_outputs()
        if inputs != INPUT_NAMES or outputs[0].name != OUTPUT_NAME:
            raise ValueError(f"the model takes {inputs} and gives {outputs[0].name!r}; "
                             f"expected {INPUT_NAMES} → {OUTPUT_NAME!r}")
        classes = outputs[0].shape[-1]
        if isinstance(classes, int) and classes != len(self.labels):
            raise ValueError(f"the model has {classes} outputs but {len(self.labels)} labels")

    def verify(self, vectors_path: str | Path) -> None:
        """Raise :class:`SpecError` unless the spec's stored test vectors reproduce here."""
        failed = check_test_vectors(self.encoder, Path(vectors_path))
        if failed:
            raise SpecError(f"{len(failed)} test vectors do not reproduce, e.g. {failed[0]!r}")

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), self.batch_size):
            words, ngrams = self.encoder.encode_batch(texts[start : start + self.batch_size])
            feeds = dict(zip(INPUT_NAMES, (words, ngrams), strict=True))
            parts.append(self.session.run([OUTPUT_NAME], feeds)[0])
        if not parts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return np.concatenate(parts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), len(labels)]`` probabilities, columns in the order of ``labels``."""
        return softmax(self.logits(texts))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        probabilities = self.predict_proba(texts)
        chosen = self._decide(probabilities)
        rows = probabilities.tolist()  # one conversion to Python floats for the whole batch
        return [Prediction(self.labels[index], row[index],
                           dict(zip(self.labels, row, strict=True)))
                for index, row in zip(chosen.tolist(), rows, strict=True)]

    def _decide(self, probabilities: np.ndarray) -> np.ndarray:
        """The winning label's index for every row, for the whole batch at once.

        Two labels with a ``positive_label``: the positive one wins from ``threshold`` up;
        otherwise the most probable label wins.
        """
        if self.positive_label is None:
            return probabilities.argmax(axis=1)
        positive = self.labels.index(self.positive_label)
        return np.where(probabilities[:, positive] >= self.threshold, positive, 1 - positive)
