"""A plausible wrong answer: it leaves the embedding tables in float32.

Mutated from stage5b_on_device/solutions/int8_quantization.py.
"""

from __future__ import annotations

from pathlib import Path

from onnxruntime.quantization import QuantType, quantize_dynamic


def quantize(source: Path, target: Path) -> Path:
    """Write an int8 (dynamic quantization) copy of ``source`` to ``target``; return it."""
    # Gather is the embedding lookup: without it the tables, most of the bytes, stay float32.
    quantize_dynamic(source, target, op_types_to_quantize=["MatMul", "Gemm"],
                     weight_type=QuantType.QInt8)
    return Path(target)
