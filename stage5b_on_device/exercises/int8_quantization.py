"""Exercise 5b.1 — dynamic int8 quantization of an ONNX text classifier.

A float32 weight takes 4 bytes; int8 takes 1 (plus one scale per tensor). Quantize the model at
``source`` with ONNX Runtime's ``onnxruntime.quantization.quantize_dynamic`` into ``target``:
int8 weights for the matrix products *and* for the embedding tables (``Gather``), which hold
most of a text model's weights. ``source`` must stay as it is.

    def quantize(source, target) -> Path

Done when ``mlcourse check 5b.1`` passes: on a small text classifier the check builds, the int8
file is at most 30% of the fp32 file's size, it loads in ONNX Runtime with the same inputs and
outputs, its probabilities stay within 0.05 of the fp32 model's and its labels agree on every
check message, and ``source`` is unchanged.
"""

from __future__ import annotations

from pathlib import Path


def quantize(source: Path, target: Path) -> Path:
    """Write an int8 (dynamic quantization) copy of ``source`` to ``target``; return it."""
    raise NotImplementedError
