"""Opening a shipped model for inference: one way, whatever folder it ships in.

:func:`open_bundle` runs a stage 4 bundle's ONNX export; the offline model folder of stage 5b
builds its runtime with :func:`build_runtime` too. Either way the preprocessing spec is checked
against its test vectors before the first prediction, and every problem is a
:class:`~common.bundle.errors.BundleError` with one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from common.bundle.errors import BundleError
from common.bundle.manifest import ONNX_EXPORT, Bundle, load_bundle
from common.bundle.runtime import TextClassifierRuntime
from common.bundle.textprep import SpecError, load_spec


def build_runtime(spec_path: Path, vectors_path: Path, model_path: Path, labels: Sequence[str],
                  *, positive_label: str | None, threshold: float | None,
                  threads: int | None = None) -> TextClassifierRuntime:
    """A runtime for a model file and its spec, the spec verified on its test vectors."""
    if not Path(model_path).is_file():
        raise BundleError(f"model file missing: {model_path}")
    try:
        runtime = TextClassifierRuntime(
            load_spec(spec_path), model_path, labels, positive_label=positive_label,
            threshold=0.5 if threshold is None else threshold, threads=threads)
        runtime.verify(vectors_path)
    except (SpecError, ValueError) as error:
        raise BundleError(f"{Path(model_path).parent}: {error}") from None
    return runtime


def open_bundle(bundle: Bundle | str | Path, *, threads: int | None = None
                ) -> TextClassifierRuntime:
    """The runtime of a classification bundle's ONNX export (validated first, if given a path).

    Refused with :class:`BundleError`: a damaged or edited bundle, a regression bundle (the
    runtime answers labels), a bundle without an ONNX export, a spec that does not reproduce.
    """
    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    if bundle.task != "classification":
        raise BundleError(f"{bundle.root} holds a {bundle.task} model; the runtime classifies "
                          "texts (train a bundle with --task classification)")
    if ONNX_EXPORT not in bundle.exports:
        raise BundleError(f"{bundle.root} has no {ONNX_EXPORT.upper()} export yet: export the "
                          "bundle's model first")
    return build_runtime(bundle.path("preprocessing"), bundle.path("preprocessing_vectors"),
                         bundle.export_path(ONNX_EXPORT), bundle.labels,
                         positive_label=bundle.positive_label,
                         threshold=bundle.decision_threshold, threads=threads)
