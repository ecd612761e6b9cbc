"""One exporter per on-device format, each returning the file and, where possible, a way to run it.

Every exporter takes the fp32 PyTorch model and gives an :class:`Exported`: the artefact and a
:data:`~stage5b_on_device.workload.Runner` (``(word_ids, ngram_ids)`` → logits) when a runtime
for it exists on this machine, so the lesson measures every format with the same yardstick. A
format whose library is missing raises :class:`FormatSkipped` with the reason.

Dynamic shapes need upper bounds on device: batch ≤ :data:`MAX_BATCH`, words ≤ the spec's
``max_words``, n-grams ≤ its ``max_ngrams`` (the encoder never produces more).
"""

from __future__ import annotations

import importlib.util
import logging
import platform
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from common.bundle.manifest import INPUT_NAMES
from common.bundle.textprep import TextSpec
from stage5b_on_device.workload import Runner

MAX_BATCH = 256
# A batch of 2 with unequal lengths: a size-1 example would let torch.export specialise it.
EXAMPLE = (torch.tensor([[2, 3, 0], [4, 0, 0]]),
           torch.tensor([[5, 6, 7, 8, 0], [9, 1, 0, 0, 0]]))


class FormatSkipped(Exception):
    """The format cannot be made here (its library is missing); the message says why."""


@dataclass
class Exported:
    path: Path
    run: Runner | None  # None: no runtime for this format on this machine
    note: str = ""  # why there is no runtime, or what to know about the format


def require(module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise FormatSkipped(f"{module} is not installed (pip install -e '.[{extra}]')")


def exported_program(model: nn.Module, spec: TextSpec) -> torch.export.ExportedProgram:
    """``torch.export`` with bounded dynamic batch and lengths: ExecuTorch's and Core ML's input."""
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    words = torch.export.Dim("words", min=1, max=spec.max_words)
    ngrams = torch.export.Dim("ngrams", min=1, max=spec.max_ngrams)
    return torch.export.export(model.eval(), EXAMPLE, dynamic_shapes={
        INPUT_NAMES[0]: {0: batch, 1: words}, INPUT_NAMES[1]: {0: batch, 1: ngrams}})


def _tensors(run: Callable[[list[torch.Tensor]], torch.Tensor]) -> Runner:
    """Wrap a runtime that takes and returns torch tensors as a numpy :data:`Runner`."""

    def wrapped(word_ids: np.ndarray, ngram_ids: np.ndarray) -> np.ndarray:
        return run([torch.from_numpy(word_ids), torch.from_numpy(ngram_ids)]).numpy()

    return wrapped


def export_executorch(model: nn.Module, spec: TextSpec, path: Path) -> Exported:
    """ExecuTorch ``.pte``, delegated to XNNPACK (its optimised CPU kernels for ARM and x86)."""
    require("executorch", "mobile")
    logging.getLogger("coremltools").setLevel(logging.ERROR)  # executorch imports it, noisily
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from executorch.runtime import Runtime

    program = to_edge_transform_and_lower(exported_program(model, spec),
                                          partitioner=[XnnpackPartitioner()]).to_executorch()
    path.write_bytes(program.buffer)
    method = Runtime.get().load_program(path).load_method("forward")
    return Exported(path, _tensors(lambda inputs: method.execute(inputs)[0]))


def export_torchscript_lite(model: nn.Module, spec: TextSpec, path: Path) -> Exported:
    """TorchScript for the lite interpreter (``.ptl``): deprecated upstream, kept for old apps."""
    from torch.jit.mobile import _load_for_lite_interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecation is said once, in the note below
        traced = torch.jit.trace(model.eval(), EXAMPLE)
        traced._save_for_lite_interpreter(str(path))
        loaded = _load_for_lite_interpreter(str(path))

    def run(inputs: list[torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            return loaded(*inputs)

    return Exported(path, _tensors(run), "deprecated upstream (PyTorch Mobile); use ExecuTorch "
                                         "for new apps")


def export_coreml(model: nn.Module, spec: TextSpec, path: Path) -> Exported:
    """Core ML ``.mlpackage`` (ML program). Converts anywhere; predicts on macOS only."""
    require("coremltools", "mobile")
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    import coremltools as ct

    program = exported_program(model, spec).run_decompositions({})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlmodel = ct.convert(program, convert_to="mlprogram",
                             minimum_deployment_target=ct.target.iOS17)
    mlmodel.save(str(path))
    if platform.system() != "Darwin":
        return Exported(path, None, "prediction needs macOS (converted, not run)")

    def run(word_ids: np.ndarray, ngram_ids: np.ndarray) -> np.ndarray:
        feeds = dict(zip(INPUT_NAMES, (word_ids.astype(np.int32), ngram_ids.astype(np.int32)),
                         strict=True))
        (logits,) = mlmodel.predict(feeds).values()
        return np.asarray(logits, dtype=np.float32)

    return Exported(path, run)


TFLITE_HOW = "make tflite builds an environment with it (it pins packages of its own)"


def export_tflite(model: nn.Module, spec: TextSpec, path: Path) -> Exported:
    """TFLite via litert-torch, run by the LiteRT interpreter (``ai-edge-litert``).

    litert-torch is heavy (TensorFlow's converter stack, jax) and downgrades packages the
    service needs, so it lives in an environment of its own (``make tflite``). Fixed shapes, one
    text at a time padded to ``max_words`` / ``max_ngrams``: padding ids are ignored by the
    masked mean, so the logits do not change.
    """
    if importlib.util.find_spec("litert_torch") is None:
        raise FormatSkipped(f"litert_torch is not installed: {TFLITE_HOW}")
    import litert_torch

    path.unlink(missing_ok=True)  # a failed conversion must not leave an older file for int8
    shape = (torch.zeros(1, spec.max_words, dtype=torch.long),
             torch.zeros(1, spec.max_ngrams, dtype=torch.long))
    litert_torch.convert(model.eval(), shape).export(str(path))
    return Exported(path, litert_runner(path, spec))


def export_tflite_int8(model: nn.Module, spec: TextSpec, path: Path) -> Exported:
    """The TFLite model with int8 weights (AI Edge Quantizer's dynamic-range recipe)."""
    if importlib.util.find_spec("ai_edge_quantizer") is None:
        raise FormatSkipped(f"ai_edge_quantizer is not installed: {TFLITE_HOW}")
    from ai_edge_quantizer import quantizer, recipe

    fp32 = path.with_name("model.tflite")
    if not fp32.is_file():  # written by export_tflite just before (FORMATS in export_mobile)
        export_tflite(model, spec, fp32)
    int8 = quantizer.Quantizer(str(fp32))
    int8.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    int8.quantize().export_model(str(path), overwrite=True)
    return Exported(path, litert_runner(path, spec))


def litert_runner(path: Path, spec: TextSpec) -> Runner:
    """A ``.tflite`` file in the LiteRT interpreter (one thread), as a :data:`Runner`."""
    from ai_edge_litert.interpreter import Interpreter

    run = Interpreter(model_path=str(path), num_threads=1).get_signature_runner()
    names = sorted(run.get_input_details())  # args_0, args_1: the forward's argument order

    def logits(word_ids: np.ndarray, ngram_ids: np.ndarray) -> np.ndarray:
        rows = []
        for words, ngrams in zip(word_ids, ngram_ids, strict=True):
            padded = [np.pad(ids, (0, width - len(ids)))[None, :].astype(np.int32)
                      for ids, width in ((words, spec.max_words), (ngrams, spec.max_ngrams))]
            (output,) = run(**dict(zip(names, padded, strict=True))).values()
            rows.append(np.asarray(output, dtype=np.float32))
        return np.concatenate(rows)

    return logits
