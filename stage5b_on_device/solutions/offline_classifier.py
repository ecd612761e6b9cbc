"""Exercise 5b.3, a reference answer: numpy, onnxruntime and the spec; no torch anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from common.bundle.textprep import TextEncoder, load_spec


class OfflineClassifier:
    def __init__(self, spec_path: Path, model_path: Path, labels: Sequence[str]) -> None:
        self.encoder = TextEncoder(load_spec(Path(spec_path)))
        self.session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        self.labels = list(labels)

    def classify(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, probability) of the most probable label, per text."""
        if not texts:
            return []
        word_ids, ngram_ids = self.encoder.encode_batch(list(texts))
        (logits,) = self.session.run(["logits"], {"word_ids": word_ids, "ngram_ids": ngram_ids})
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))  # never overflows
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        best = probabilities.argmax(axis=1)
        return [(self.labels[i], float(row[i])) for i, row in zip(best, probabilities,
                                                                   strict=True)]
