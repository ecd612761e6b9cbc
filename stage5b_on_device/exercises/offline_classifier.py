"""Exercise 5b.3 — a torch-free offline classifier: the spec, ONNX Runtime and nothing else.

On a phone or in an offline app there is no PyTorch. Write a classifier that uses only the
preprocessing spec (``common.bundle.textprep``: ``load_spec``, ``TextEncoder``), ``onnxruntime`` and
``numpy``: encode a batch of texts with ``TextEncoder(spec).encode_batch`` (it returns the
``word_ids`` and ``ngram_ids`` matrices the model takes), run the ONNX session, turn the
``logits`` into probabilities with a (numerically stable) softmax, and return for each text the
most probable label and its probability. Do not use ``common.bundle.runtime``: this is the
exercise of writing what it does.

    class OfflineClassifier:
        def __init__(self, spec_path, model_path, labels): ...
        def classify(self, texts) -> list[tuple[str, float]]

Done when ``mlcourse check 5b.3`` passes: your labels and probabilities equal the course's
runtime's (within 1e-5) on a small model the check builds, an empty list gives ``[]``, 300 texts
at once work, and your file runs in a Python where ``import torch`` fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class OfflineClassifier:
    def __init__(self, spec_path: Path, model_path: Path, labels: Sequence[str]) -> None:
        raise NotImplementedError

    def classify(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, probability) of the most probable label, per text."""
        raise NotImplementedError
