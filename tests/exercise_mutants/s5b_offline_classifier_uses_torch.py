"""A plausible wrong answer: it uses torch for the softmax.

Mutated from stage5b_on_device/solutions/offline_classifier.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
        import torch

        probabilities = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
        best = probabilities.argmax(axis=1)
        return [(self.labels[i], float(row[i])) for i, row in zip(best, probabilities,
                                                                   strict=True)]
