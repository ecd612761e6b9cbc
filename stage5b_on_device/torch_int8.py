"""int8 in PyTorch itself: torchao's ``quantize_``, or ``torch.ao.quantization`` without it.

What gets quantized, and why:

* the ``nn.Linear`` layers: *dynamic* int8 — int8 weights, activations quantized per batch at run
  time, int8 matrix multiplies;
* the ``nn.Embedding`` tables: *weight-only* int8, one scale per row. A lookup does no arithmetic
  to speed up, but the tables hold nearly all the parameters, so this is where the size goes.

``torch.ao.quantization`` is deprecated upstream in favour of torchao; it is used only when
torchao is not installed or older than :data:`MIN_TORCHAO` (its ``quantize_`` config API).
"""

from __future__ import annotations

import copy
import importlib.metadata
import io
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

MIN_TORCHAO = (0, 12)


def torchao_version() -> tuple[int, ...] | None:
    """torchao's (major, minor) when installed, else None."""
    try:
        text = importlib.metadata.version("torchao")
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in text.split("+")[0].split(".")[:2] if part.isdigit())


def quantize_torch_int8(model: nn.Module) -> tuple[nn.Module, str]:
    """An int8 copy of ``model`` (the original is untouched) and the library that made it."""
    version = torchao_version()
    if version is not None and version >= MIN_TORCHAO:
        return quantize_with_torchao(model), "torchao " + ".".join(map(str, version))
    return quantize_with_torch_ao(model), f"torch.ao.quantization (torch {torch.__version__})"


def quantize_with_torchao(model: nn.Module) -> nn.Module:
    logging.getLogger("torchao").setLevel(logging.ERROR)
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        IntxWeightOnlyConfig,
        quantize_,
    )
    from torchao.quantization.granularity import PerAxis

    quantized = copy.deepcopy(model).eval()
    quantize_(quantized, Int8DynamicActivationInt8WeightConfig())  # filter: Linear layers
    quantize_(quantized, IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=PerAxis(0)),
              filter_fn=lambda module, _name: isinstance(module, nn.Embedding))
    return quantized


def quantize_with_torch_ao(model: nn.Module) -> nn.Module:
    from torch.ao import quantization as tq

    specs = {nn.Linear: tq.default_dynamic_qconfig,
             nn.Embedding: tq.float_qparams_weight_only_qconfig}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecation notice: the docstring says it
        return tq.quantize_dynamic(copy.deepcopy(model).eval(), specs, dtype=torch.qint8)


def saved_bytes(model: nn.Module, path: Path | None = None) -> int:
    """Size of ``torch.save(state_dict)`` — written to ``path`` when given.

    ``torch.save`` rather than safetensors: quantized weights are tensor subclasses (int8 data
    plus scales) that only PyTorch's own format stores.
    """
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
    return buffer.getbuffer().nbytes
