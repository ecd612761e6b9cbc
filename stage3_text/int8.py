"""int8 weights for an ONNX text model: ONNX Runtime's dynamic quantization, torch-free.

Weights of ``MatMul``/``Gemm``/``Gather`` are stored as int8 with a scale; activations are
quantized on the fly. ``Gather`` is included on purpose: the embedding tables are read by
``Gather`` and hold almost every weight, so leaving it out would keep the file nearly as big as
fp32. Stage 3 measures its model's int8 size with it; stage 5b builds on it.
"""

from __future__ import annotations

import logging
from pathlib import Path

QUANTIZED_OPS = ("MatMul", "Gemm", "Gather")


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization of ``source`` (weights of MatMul/Gemm/Gather) into ``target``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    quiet = logging.getLogger()  # the quantizer logs a pre-processing hint on the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        quantize_dynamic(source, target, op_types_to_quantize=list(QUANTIZED_OPS),
                         weight_type=QuantType.QInt8)
    finally:
        quiet.setLevel(level)
    return target
