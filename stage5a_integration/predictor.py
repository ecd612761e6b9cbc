"""What the REST and gRPC services need from a model, and that model loaded from a bundle.

The services depend on the small :class:`Predictor` protocol only. :func:`load_predictor` fills
it from a stage 4 bundle with the torch-free runtime in ``common`` (its ONNX export, the
preprocessing spec, labels and threshold): serving never imports PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from common.bundle import Bundle, BundleError, default_bundle_dir, load_bundle
from common.runtime import Prediction, TextClassifierRuntime
from common.textprep import SpecError, load_spec

DEFAULT_BUNDLE = default_bundle_dir()
ONNX_EXPORT = "onnx"  # the name ``python -m stage5a_integration.export`` records in the manifest


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


def load_predictor(root: Path) -> BundlePredictor:
    """Load and check a classification bundle; :class:`BundleError` (one clear line) otherwise.

    Refused: a regression bundle (this service answers labels), a bundle without an ONNX export,
    and a preprocessing spec whose test vectors do not reproduce here.
    """
    bundle = load_bundle(root)
    if bundle.task != "classification":
        raise BundleError(f"{root} holds a {bundle.task} model; this service classifies texts "
                          "(train a bundle with --task classification)")
    if ONNX_EXPORT not in bundle.exports:
        raise BundleError(f"{root} has no ONNX export yet: run "
                          f"`python -m stage5a_integration.export --bundle {root}`")
    try:
        runtime = TextClassifierRuntime(
            load_spec(bundle.path("preprocessing")), bundle.export_path(ONNX_EXPORT),
            bundle.labels, positive_label=bundle.positive_label,
            threshold=bundle.decision_threshold if bundle.decision_threshold is not None else 0.5,
            threads=1,  # one thread per worker: concurrency comes from requests, not from ops
        )
        runtime.verify(bundle.path("preprocessing_vectors"))
    except (SpecError, ValueError) as error:
        raise BundleError(f"{root}: {error}") from None
    return BundlePredictor(bundle, runtime)
