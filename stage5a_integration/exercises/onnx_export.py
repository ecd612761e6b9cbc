"""Exercise 5a.2 — export a model to ONNX with a dynamic batch, and keep parity with PyTorch.

The model takes ``features`` (float32, ``[batch, 20]``) and returns ``logits`` (``[batch, 3]``).
Export it with ``torch.onnx.export`` to one self-contained file at ``path`` (weights inside the
``.onnx``, no ``.onnx.data`` beside it) whose input is named ``features``, whose output is named
``logits``, and whose batch dimension is dynamic, so ONNX Runtime accepts any batch size. Export
what the model computes at inference time. Leave ``model`` itself as it was.

    def export_onnx(model, path) -> Path

Done when ``mlcourse check 5a.2`` passes: the file alone (copied to an empty folder) runs in
ONNX Runtime with the input and output names above, for batches of 1, 3 and 64 rows, and its
logits equal PyTorch's ``model.eval()`` logits within 1e-4 (GUIDE §3's parity bar).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn


def export_onnx(model: nn.Module, path: Path) -> Path:
    """Write ``model`` to ``path`` as ONNX (input ``features``, output ``logits``); return it."""
    raise NotImplementedError
