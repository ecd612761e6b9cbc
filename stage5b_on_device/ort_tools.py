"""ONNX Runtime's side of stage 5b: int8 quantization, the mobile ``.ort`` format, a runner.

Torch-free: it starts from an ``.onnx`` file (``stage3_text.onnx_export`` writes one).

* :func:`quantize_onnx_int8` (from ``stage3_text.int8``, where stage 3 measures its model's
  int8 size, and where the choice of unsigned weights is explained) is ONNX Runtime's *dynamic*
  quantization of MatMul/Gemm/Gather weights.
* :func:`to_ort_format` converts to the ORT format, the flatbuffer that ONNX Runtime Mobile
  (onnxruntime-android, onnxruntime-objc/-c) loads without an ONNX parser, with the graph
  optimisations already applied.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np

from common.bundle.session import open_session, session_logits


def to_ort_format(source: Path, target: Path) -> Path:
    """Convert ``source`` (.onnx) to ``target`` (.ort) with fixed, fully applied optimisations."""
    from onnxruntime.tools.convert_onnx_models_to_ort import (
        OptimizationStyle,
        convert_onnx_models_to_ort,
    )

    with tempfile.TemporaryDirectory() as work:
        staged = Path(work) / f"{target.stem}.onnx"
        shutil.copyfile(source, staged)
        with contextlib.redirect_stdout(io.StringIO()):  # the converter narrates every step
            convert_onnx_models_to_ort(staged, output_dir=Path(work) / "out",
                                       optimization_styles=[OptimizationStyle.Fixed])
        converted = Path(work) / "out" / f"{target.stem}.ort"
        if not converted.is_file():
            raise RuntimeError(f"ONNX Runtime did not convert {source} to the ORT format")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(converted, target)
    return target


class OrtRunner:
    """An ONNX Runtime session (``.onnx`` or ``.ort``): ``(word_ids, ngram_ids)`` → logits."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        self.session = open_session(path, threads=threads)  # one: what a phone app's call gets

    def __call__(self, word_ids: np.ndarray, ngram_ids: np.ndarray) -> np.ndarray:
        return session_logits(self.session, word_ids, ngram_ids)
