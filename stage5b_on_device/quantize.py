"""int8 quantization of a bundle's model: four bytes per weight become one. What does it cost?

Two routes, one model:

* **PyTorch** (torchao ``quantize_``): dynamic int8 Linear layers and weight-only int8
  embedding tables, for apps that run PyTorch (ExecuTorch, see ``export_mobile``);
* **ONNX Runtime** (``quantize_dynamic`` on MatMul/Gemm/Gather), converted to the ``.ort``
  format that ONNX Runtime Mobile loads.

For each variant: file size, p50 latency of one text, quality (F1 / accuracy) and agreement with
the fp32 model's decisions. Bars (on 1,000+ texts): the int8 ``.ort`` is at most 30% of the fp32
one, loses at most one point of F1, and agrees with fp32 on at least 99% of texts.

A ham/spam bundle with a small test split is judged on the SMS Spam Collection shipped in
``data/sms_spam_collection/`` (see ``stage5b_on_device.workload``)::

    python -m stage5b_on_device.quantize --bundle runs/stage4_own_data/bundles/SMSSpamCollection
"""

# %%
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from common.lesson import lesson_main, lesson_parser
from common.paths import runs_dir
from common.summary import LessonSummary
from stage3_text.int8 import quantize_onnx_int8
from stage3_text.onnx_export import PARITY_TOLERANCE, export_onnx
from stage5b_on_device.measure import (
    agreement,
    human_bytes,
    markdown_table,
    max_abs_diff,
    size_bytes,
)
from stage5b_on_device.ort_tools import OrtRunner, to_ort_format
from stage5b_on_device.quiet import add_verbose_arg, third_party_output
from stage5b_on_device.torch_int8 import quantize_torch_int8, saved_bytes
from stage5b_on_device.workload import (
    Judgement,
    Workload,
    add_workload_args,
    load_workload,
    torch_runner,
)

STAGE, LESSON = "stage5b_on_device", "quantize"
MAX_SIZE_RATIO = 0.30  # int8 .ort / fp32 .ort
MAX_METRIC_DROP = 0.01  # one point of F1 (or accuracy)
MIN_AGREEMENT = 0.99


@dataclass
class Variant:
    name: str
    path: Path
    size: int
    judgement: Judgement


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    add_workload_args(parser)
    add_verbose_arg(parser)
    return parser


# %%
def measure_variants(workload: Workload, out: Path, verbose: bool = False) -> list[Variant]:
    """Make the four variants (PyTorch and ORT, fp32 and int8) and judge each one.

    The quantizers' and converters' own output is held back unless ``verbose``.
    """
    model = workload.model
    with third_party_output(verbose):
        torch_int8, library = quantize_torch_int8(model)
        onnx_fp32 = export_onnx(model, out / "model.fp32.onnx")
        onnx_int8 = quantize_onnx_int8(onnx_fp32, out / "model.int8.onnx")
        ort_fp32 = to_ort_format(onnx_fp32, out / "model.fp32.ort")
        ort_int8 = to_ort_format(onnx_int8, out / "model.int8.ort")
    print(f"PyTorch int8 by {library}")
    variants = []
    for name, path, size, run in [
        ("PyTorch fp32", out / "model.fp32.pt", saved_bytes(model, out / "model.fp32.pt"),
         torch_runner(model)),
        (f"PyTorch int8 ({library.split()[0]})", out / "model.int8.pt",
         saved_bytes(torch_int8, out / "model.int8.pt"), torch_runner(torch_int8)),
        ("ORT fp32 (.ort)", ort_fp32, size_bytes(ort_fp32), OrtRunner(ort_fp32)),
        ("ORT int8 (.ort)", ort_int8, size_bytes(ort_int8), OrtRunner(ort_int8)),
    ]:
        judgement = workload.reference if name == "PyTorch fp32" else workload.judge(run)
        variants.append(Variant(name, path, size, judgement))
    return variants


def report(workload: Workload, variants: list[Variant]) -> str:
    reference = workload.reference
    rows = [(v.name, human_bytes(v.size), f"{v.judgement.latency_ms_p50:.3f}",
             v.judgement.quality[workload.metric_name], v.judgement.quality["accuracy"],
             agreement(reference.predicted, v.judgement.predicted)) for v in variants]
    return markdown_table(("variant", "size", "latency p50 (ms, 1 text)", workload.metric_name,
                           "accuracy", "agreement with fp32"), rows)


def run(args: argparse.Namespace) -> LessonSummary:
    out = runs_dir(STAGE, LESSON, args.out)
    workload = load_workload(args)
    variants = {v.name.split(" (")[0]: v
                for v in measure_variants(workload, out, args.verbose)}
    print()
    print(report(workload, list(variants.values())))

    fp32, int8 = variants["ORT fp32"], variants["ORT int8"]
    metric = workload.metric_name
    ratio = int8.size / fp32.size
    drop = fp32.judgement.quality[metric] - int8.judgement.quality[metric]
    agreed = agreement(fp32.judgement.predicted, int8.judgement.predicted)
    parity = max_abs_diff(workload.reference.logits, fp32.judgement.logits)
    torch_int8 = next(v for name, v in variants.items() if name.startswith("PyTorch int8"))

    summary = LessonSummary(
        STAGE, LESSON, "tool", dataset=workload.eval_set.name,
        metrics={
            f"ort_int8_{metric}": int8.judgement.quality[metric],
            f"ort_fp32_{metric}": fp32.judgement.quality[metric],
            "ort_int8_size_ratio": ratio,
            "ort_int8_agreement": agreed,
            "ort_fp32_max_abs_diff": parity,
            "torch_int8_size_ratio": torch_int8.size / variants["PyTorch fp32"].size,
            "torch_int8_agreement": agreement(workload.reference.predicted,
                                              torch_int8.judgement.predicted),
            "eval_texts": float(len(workload.eval_set)),
        },
        outputs=[str(v.path) for v in variants.values()],
        extras={"variants": [{"name": v.name, "path": str(v.path), "size_bytes": v.size,
                              "latency_ms_p50": v.judgement.latency_ms_p50,
                              **v.judgement.quality} for v in variants.values()],
                "quality_bars_checked": workload.bars_apply},
    )
    summary.check(f"ORT int8 file is {ratio:.0%} of fp32 (<= {MAX_SIZE_RATIO:.0%})",
                  ratio <= MAX_SIZE_RATIO)
    summary.check(f"ORT fp32 logits match PyTorch: {parity:.1e} <= {PARITY_TOLERANCE:g}",
                  parity <= PARITY_TOLERANCE)
    if workload.bars_apply:
        summary.check(f"ORT int8 {metric} drop {drop * 100:.2f} points <= "
                      f"{MAX_METRIC_DROP * 100:g}", drop <= MAX_METRIC_DROP)
        summary.check(f"ORT int8 agrees with fp32 on {agreed:.2%} (>= {MIN_AGREEMENT:.0%})",
                      agreed >= MIN_AGREEMENT)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
