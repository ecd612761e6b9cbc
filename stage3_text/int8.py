"""int8 weights for an ONNX text model: ONNX Runtime's dynamic quantization, torch-free.

Weights of ``MatMul``/``Gemm``/``Gather`` are stored as 8-bit integers with a scale;
activations are quantized on the fly. ``Gather`` is included on purpose: the embedding tables are
read by ``Gather`` and hold almost every weight, so leaving it out would keep the file nearly as
big as fp32. Stage 3 measures its model's int8 size with it; stage 5b builds on it.

The weights are stored as *unsigned* 8-bit integers (with a zero point): on x86 CPUs without VNNI
(AVX2 only), ONNX Runtime multiplies unsigned activations by *signed* weights with an instruction
that saturates pairs of products at 16 bits, so a laptop's answer drifted from a phone's or a
browser's (up to 0.78 in a logit on 7 of 336 texts in stage 5b's web app test). Unsigned weights
take an exact path everywhere: the same int8 model gives the same logits on every device.
"""

from __future__ import annotations

import logging
from pathlib import Path

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
