"""What the REST and gRPC services need from a model, and that model loaded from a bundle.

The services depend on the small :class:`Predictor` protocol only. :func:`load_predictor` fills
it from a stage 4 bundle with the torch-free package :mod:`common.bundle` (its ONNX export, the
preprocessing spec, labels and threshold): serving never imports PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from common.bundle.errors import BundleError
from common.bundle.inference import open_bundle
from common.bundle.manifest import ONNX_EXPORT, Bundle, load_bundle
from common.bundle.runtime import Prediction, TextClassifierRuntime
from common.paths import check_bundle_state


class Predictor(Protocol):
    """A loaded classifier. ``predict`` must be safe to call from several threads at once."""

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def positive_label(self) -> str | None: ...

    @property
    def model_version(self) -> str: ...

    @property
    def max_text_chars(self) -> int: ...

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...

    def cache_stats(self) -> dict[str, tuple[int, int]]:
        """``(hits, misses)`` of every cache on the predict path, by name (for ``/metrics``)."""
        ...


class BundlePredictor:
    """A bundle's ONNX export behind :class:`Predictor` (ONNX Runtime sessions are thread-safe)."""

    def __init__(self, bundle: Bundle, runtime: TextClassifierRuntime) -> None:
        self.bundle = bundle
        self.runtime = runtime

    @property
    def labels(self) -> tuple[str, ...]:
        return self.runtime.labels

    @property
    def positive_label(self) -> str | None:
        return self.runtime.positive_label

    @property
    def model_version(self) -> str:
        return self.bundle.model_version

    @property
    def max_text_chars(self) -> int:
        return self.bundle.max_text_chars

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return self.runtime.predict(texts)

    def cache_stats(self) -> dict[str, tuple[int, int]]:
        """The encoder's ids per token and per n-gram: no text or answer is ever cached."""
        encoder = self.runtime.encoder
        return {name: (info.hits, info.misses) for name, info in (
            ("token_ids", encoder.token_ids.cache_info()),
            ("ngram_id", encoder.ngram_id.cache_info()))}


def load_predictor(root: Path, *, allow_failed: bool = True) -> BundlePredictor:
    """Load and check a classification bundle; :class:`BundleError` (one clear line) otherwise.

    Refused: a damaged or edited bundle, a regression bundle (this service answers labels), a
    bundle without an ONNX export, and a preprocessing spec whose test vectors do not reproduce.
    """
    bundle = check_bundle_state(load_bundle(root), allow_failed=allow_failed)
    if bundle.task == "classification" and ONNX_EXPORT not in bundle.exports:
        raise BundleError(f"{root} has no ONNX export yet: run "
                          f"`python -m stage5a_integration.export --bundle {root}`")
    # one thread per worker: concurrency comes from requests, not from ops
    return BundlePredictor(bundle, open_bundle(bundle, threads=1))
