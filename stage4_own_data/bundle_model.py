"""The PyTorch model inside a bundle: rebuilt from its config, weights from safetensors.

For stage 5a (export, parity checks) and stage 5b (quantization, pruning, mobile formats). The
torch-free side (reading and checking a bundle, serving it) is the package :mod:`common.bundle`;
this module is what needs torch::

    loaded = load_bundle_model("runs/stage4_own_data/bundles/support_inbox")
    loaded.predict(["I was charged twice this month"])  # ['billing']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from common.bundle.decision import decide, softmax
from common.bundle.errors import BundleError
from common.bundle.manifest import (
    INPUT_NAMES,
    ONNX_EXPORT,
    OUTPUT_NAME,
    Bundle,
    add_export,
    load_bundle,
)
from common.bundle.textprep import SpecError, TextEncoder, check_test_vectors, load_spec
from common.paths import check_bundle_state
from stage3_text.classifier import ClassifierConfig, TextClassifier, encode_tensors
from stage3_text.onnx_export import OPSET

ARCHITECTURE = "stage3_text.classifier.TextClassifier"  # what a bundle's manifest names


@dataclass
class BundleModel:
    """A bundle's model, preprocessing and decision rule, ready to predict."""

    bundle: Bundle
    model: TextClassifier
    encoder: TextEncoder

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw outputs ``[len(texts), classes]`` (one column, the value, for regression)."""
        words, ngrams = encode_tensors(self.encoder, texts)
        with torch.no_grad():
            return self.model.eval()(words, ngrams).numpy()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.bundle.task != "classification":
            raise BundleError("a regression bundle predicts values, not probabilities")
        return softmax(self.logits(texts))

    def decide(self, logits: np.ndarray) -> np.ndarray:
        """Label indices from logits by the bundle's rule (:func:`common.bundle.decide`)."""
        return decide(softmax(np.asarray(logits, dtype=np.float64)), self.bundle.labels,
                      self.bundle.positive_label, self.bundle.decision_threshold)

    def predict(self, texts: Sequence[str]) -> list[str] | list[float]:
        """Labels, with the bundle's decision threshold for two classes; values for regression."""
        if self.bundle.task == "regression":
            return self.logits(texts)[:, 0].astype(float).tolist()
        return [self.bundle.labels[i] for i in self.decide(self.logits(texts))]


def load_bundle_model(root: str | Path | Bundle, *, device: str = "cpu") -> BundleModel:
    """Validate the bundle, check its preprocessing against its test vectors, load the model."""
    bundle = check_bundle_state(root if isinstance(root, Bundle) else load_bundle(root))
    architecture = bundle.manifest["model"]["architecture"]
    if architecture != ARCHITECTURE:
        raise BundleError(f"bundle model {architecture!r} is not {ARCHITECTURE!r}")
    try:
        encoder = TextEncoder(load_spec(bundle.path("preprocessing")))
        failed = check_test_vectors(encoder, bundle.path("preprocessing_vectors"))
    except SpecError as error:
        raise BundleError(f"bundle preprocessing unusable: {error}") from None
    if failed:
        raise BundleError(f"preprocessing does not reproduce its test vectors for {failed[0]!r}")
    try:
        model = TextClassifier(ClassifierConfig.from_json(bundle.model_config))
        model.load_state_dict(load_file(str(bundle.path("weights")), device=device))
    except (TypeError, RuntimeError, SafetensorError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BundleError(f"bundle weights do not fit its model config: {first}") from None
    return BundleModel(bundle, model.to(device).eval(), encoder)


def record_onnx_export(root: Path, path: Path, *, max_abs_diff: float, **facts: Any
                       ) -> dict[str, Any]:
    """Record an ONNX export of the bundle's model: the one place its manifest entry is made.

    ``max_abs_diff`` is its measured parity with PyTorch; ``facts`` adds how it was measured.
    """
    return add_export(root, path, name=ONNX_EXPORT, format="onnx", opset=OPSET,
                      inputs=list(INPUT_NAMES), output=OUTPUT_NAME,
                      dynamic_axes=["batch", "words", "ngrams"], max_abs_diff=max_abs_diff,
                      **facts)
