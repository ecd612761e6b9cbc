"""Export a :class:`~stage3_text.classifier.TextClassifier` to one self-contained ONNX file.

The exported graph takes ``word_ids`` and ``ngram_ids`` (int64 ``[batch, time]``, both dimensions
dynamic) and returns ``logits`` — the interface :mod:`common.bundle.runtime` expects. Two
traps avoided (GUIDE §6): the example input has a batch of 2 and unequal lengths, never 1, because
a size-1 example lets the exporter specialise that dimension; and the weights are stored inside the
``.onnx`` file rather than beside it in a ``.onnx.data`` file. Stages 4, 5a and 5b reuse this.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from common.bundle.manifest import INPUT_NAMES, OUTPUT_NAME
from common.bundle.session import open_session, session_logits

OPSET = 18
PARITY_TOLERANCE = 1e-4  # max abs difference of fp32 logits, PyTorch vs ONNX Runtime


def export_onnx(model: nn.Module, path: Path, *, opset: int = OPSET) -> Path:
    """Write ``model`` (inputs ``word_ids, ngram_ids``) as ``path``; returns the path.

    A CPU copy in eval mode is exported (dropout off); ``model`` itself is left untouched.
    """
    model = copy.deepcopy(model).cpu().eval()
    example = (torch.tensor([[2, 3, 0], [4, 0, 0]]),
               torch.tensor([[5, 6, 7, 8, 0], [9, 1, 0, 0, 0]]))
    batch, words, ngrams = (torch.export.Dim("batch"), torch.export.Dim("words"),
                            torch.export.Dim("ngrams"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own chatter is not the learner's concern
        program = torch.onnx.export(
            model, example, dynamo=True, opset_version=opset,
            input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
            dynamic_shapes={INPUT_NAMES[0]: {0: batch, 1: words},
                            INPUT_NAMES[1]: {0: batch, 1: ngrams}},
            verbose=False,
        )
    program.save(str(path), external_data=False)
    return path


def parity(model: nn.Module, path: Path, word_ids: torch.Tensor, ngram_ids: torch.Tensor) -> float:
    """Max abs difference between PyTorch's and ONNX Runtime's logits on the same ids."""
    model = copy.deepcopy(model).cpu().eval()
    with torch.no_grad():
        expected = model(word_ids, ngram_ids).numpy()
    actual = session_logits(open_session(path), word_ids.numpy(), ngram_ids.numpy())
    return float(np.abs(expected - actual).max())
