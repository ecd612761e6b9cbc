"""Checks for exercise 5b.1: the int8 file's size, its interface and agreement, the source kept."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from common.bundle.runtime import TextClassifierRuntime
from common.checks import check, expect
from stage3_text.checks.fixtures import TEXTS, tiny_classifier

SIZE_SHARE, PROBABILITY_GAP = 0.30, 0.05


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def quantized(learner: ModuleType) -> tuple[Path, bool]:
    tiny = tiny_classifier()
    before = digest(tiny.model_path)
    target = Path(tempfile.mkdtemp(prefix="mlcourse-int8-")) / "model.int8.onnx"
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer's pre-processing advice is noise here
    try:
        learner.quantize(tiny.model_path, target)
    finally:
        root.setLevel(level)
    expect(target.is_file(), expected="an int8 model written at target", seen="no file")
    return target, digest(tiny.model_path) == before


def runtimes(learner: ModuleType) -> tuple[TextClassifierRuntime, TextClassifierRuntime]:
    tiny = tiny_classifier()
    target, _ = quantized(learner)
    return (TextClassifierRuntime.from_files(tiny.spec_path, tiny.model_path, tiny.labels),
            TextClassifierRuntime.from_files(tiny.spec_path, target, tiny.labels))


@check(f"the int8 file is at most {SIZE_SHARE:.0%} of the fp32 file",
       hint="quantize the embedding tables too: op_types_to_quantize=['MatMul', 'Gemm', "
            "'Gather'] with weight_type=QuantType.QInt8")
def smaller(learner: ModuleType) -> None:
    target, _ = quantized(learner)
    fp32, int8 = tiny_classifier().model_path.stat().st_size, target.stat().st_size
    expect(int8 <= SIZE_SHARE * fp32, expected=f"<= {SIZE_SHARE * fp32 / 1e3:,.0f} kB "
           f"({SIZE_SHARE:.0%} of {fp32 / 1e3:,.0f} kB)",
           seen=f"{int8 / 1e3:,.0f} kB ({int8 / fp32:.0%})")


@check("it loads with the same inputs and outputs and agrees with the fp32 model",
       hint="dynamic quantization keeps the graph's interface: use quantize_dynamic rather "
            "than editing the graph by hand")
def agrees(learner: ModuleType) -> None:
    fp32, int8 = runtimes(learner)
    texts = [*TEXTS, "ok see you", "CLAIM your FREE prize"]
    reference, probabilities = fp32.predict_proba(texts), int8.predict_proba(texts)
    gap = float(np.abs(reference - probabilities).max())
    expect(gap <= PROBABILITY_GAP, expected=f"probabilities within {PROBABILITY_GAP}",
           seen=f"a largest difference of {gap:.3f}")
    same = (reference.argmax(axis=1) == probabilities.argmax(axis=1)).mean()
    expect(same == 1.0, expected="the same label for every message", seen=f"{same:.0%} agree")


@check("the fp32 source file is unchanged",
       hint="write only to target; quantize_dynamic(source, target, ...) reads source")
def source_untouched(learner: ModuleType) -> None:
    _, untouched = quantized(learner)
    expect(untouched, expected="the same bytes in source as before", seen="source changed")
