"""Exercise 5a.2, a reference answer (GUIDE §6's traps: batch 2, not 1; one self-contained file)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn


def export_onnx(model: nn.Module, path: Path) -> Path:
    """Write ``model`` to ``path`` as ONNX (input ``features``, output ``logits``); return it."""
    model = copy.deepcopy(model).cpu().eval()  # eval: dropout off; a copy: the caller's is kept
    example = (torch.zeros(2, 20),)  # a batch of 1 would let the exporter fix the dimension
    program = torch.onnx.export(
        model, example, dynamo=True, input_names=["features"], output_names=["logits"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, verbose=False,
    )
    program.save(str(path), external_data=False)
    return Path(path)
