"""ONNX Runtime's side of stage 5b: int8 quantization, the mobile ``.ort`` format, a runner.

Torch-free: it starts from an ``.onnx`` file (``stage3_text.onnx_export`` writes one).

* :func:`quantize_onnx_int8` is ONNX Runtime's *dynamic* quantization: weights stored as int8 with a
  scale, activations quantized on the fly. ``Gather`` is included on purpose: the embedding
  tables are read by ``Gather`` and hold almost every weight, so leaving it out would keep the
  file nearly as big as fp32.
  The weights are stored as *unsigned* 8-bit integers (with a zero point): on x86 CPUs without
  VNNI (AVX2 only), ONNX Runtime multiplies unsigned activations by *signed* weights with an
  instruction that saturates pairs of products at 16 bits, so a laptop's answer drifted from a
  phone's or a browser's (up to 0.78 in a logit on 7 of 336 texts here). Unsigned weights take an
  exact path everywhere: the same int8 model gives the same logits on every device.
* :func:`to_ort_format` converts to the ORT format, the flatbuffer that ONNX Runtime Mobile
  (onnxruntime-android, onnxruntime-objc/-c) loads without an ONNX parser, with the graph
  optimisations already applied.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from common.bundle.session import open_session, session_logits

QUANTIZED_OPS = ("MatMul", "Gemm", "Gather")


def quantize_onnx_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization of ``source`` (weights of MatMul/Gemm/Gather) into ``target``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    quiet = logging.getLogger()  # the quantizer logs a pre-processing hint on the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        quantize_dynamic(source, target, op_types_to_quantize=list(QUANTIZED_OPS),
                         weight_type=QuantType.QUInt8)
    finally:
        quiet.setLevel(level)
    return target


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
