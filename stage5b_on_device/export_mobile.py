"""Export a bundle's model to every on-device format and check each against PyTorch.

Formats: ONNX Runtime's ``.ort`` (fp32 and int8), ExecuTorch ``.pte`` (XNNPACK), TorchScript lite
``.ptl`` (deprecated), Core ML ``.mlpackage`` and, in the environment ``make tflite`` builds,
TFLite (fp32 and int8, run by the LiteRT interpreter). For each:
size, max |logit difference| with PyTorch where a runtime exists here (fp32 bar: 1e-4), p50
latency of one text, and quality on the evaluation texts. A format that cannot be made or run
here is ``skipped`` with the reason; one that breaks is ``failed``, and the run fails.

``--out`` becomes a complete offline model directory (layout: ``stage5b_on_device/model_dir.py``)
that ``python -m stage5b_on_device.offline_app --model-dir OUT`` runs without PyTorch.
"""

# %%
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from common.bundle.textprep import TextSpec
from common.lesson import lesson_main, lesson_parser
from common.paths import runs_dir
from common.summary import LessonSummary
from stage3_text.int8 import quantize_onnx_int8
from stage3_text.onnx_export import PARITY_TOLERANCE, export_onnx
from stage5b_on_device.measure import human_bytes, markdown_table, max_abs_diff, size_bytes
from stage5b_on_device.mobile_formats import (
    MAX_BATCH,
    Exported,
    FormatSkipped,
    export_coreml,
    export_executorch,
    export_tflite,
    export_tflite_int8,
    export_torchscript_lite,
)
from stage5b_on_device.model_dir import (
    FORMATS_DIR,
    MODELS,
    OfflineModelInfo,
    load_runtime,
    seal_model_dir,
    write_model_dir,
)
from stage5b_on_device.ort_tools import OrtRunner, to_ort_format
from stage5b_on_device.quiet import add_verbose_arg, third_party_output
from stage5b_on_device.workload import Workload, add_workload_args, load_workload

STAGE, LESSON = "stage5b_on_device", "export_mobile"
Exporter = Callable[[nn.Module, TextSpec, Path], Exported]


@dataclass
class FormatResult:
    format: str
    path: Path | None
    size_bytes: int | None
    max_abs_diff: float | None
    latency_ms_p50: float | None
    metric: float | None
    status: str
    fp32: bool

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "path": None if self.path is None else str(self.path),
                "size_bytes": self.size_bytes, "max_abs_diff": self.max_abs_diff,
                "latency_ms_p50": self.latency_ms_p50, "metric": self.metric,
                "status": self.status}


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    add_workload_args(parser)
    add_verbose_arg(parser)
    parser.add_argument("--require", action="append", default=[], metavar="FORMAT",
                        choices=[name for name, *_ in FORMATS],
                        help="fail unless FORMAT is ok here, not skipped (repeatable; "
                             "make tflite requires tflite)")
    return parser


# %%
def ort_jobs(onnx_fp32: Path, out: Path) -> list[tuple[str, Exporter, Path, bool]]:
    """The two ``.ort`` models of the offline directory, made from one fp32 ONNX export."""

    def ort(precision: str) -> Exporter:
        def export(_model: nn.Module, _spec: TextSpec, path: Path) -> Exported:
            onnx = onnx_fp32
            if precision == "int8":
                onnx = quantize_onnx_int8(onnx_fp32, out / FORMATS_DIR / "model.int8.onnx")
            return Exported(to_ort_format(onnx, path), OrtRunner(path))
        return export

    return [(f"ort-{precision}", ort(precision), out / MODELS[precision], precision == "fp32")
            for precision in ("fp32", "int8")]


FORMATS: list[tuple[str, str, Exporter, bool]] = [
    ("executorch-xnnpack", "model.pte", export_executorch, True),
    ("torchscript-lite", "model.ptl", export_torchscript_lite, True),
    ("coreml", "model.mlpackage", export_coreml, True),
    ("tflite", "model.tflite", export_tflite, True),
    ("tflite-int8", "model.int8.tflite", export_tflite_int8, False),
]


def measure_format(name: str, export: Exporter, path: Path, fp32: bool,
                   workload: Workload, verbose: bool = False) -> FormatResult:
    """Export one format and judge it; never raises for the format's own failures.

    The exporters' and runtimes' own output is held back unless ``verbose``
    (:func:`~stage5b_on_device.quiet.third_party_output`).
    """
    spec = workload.loaded.encoder.spec
    try:
        with third_party_output(verbose):
            exported = export(workload.model, spec, path)
    except FormatSkipped as reason:
        return FormatResult(name, None, None, None, None, None, f"skipped: {reason}", fp32)
    except Exception as error:  # one broken exporter must not hide the others' results
        return FormatResult(name, None, None, None, None, None, f"failed: {_first_line(error)}",
                            fp32)
    size = size_bytes(exported.path)
    if exported.run is None:
        return FormatResult(name, exported.path, size, None, None, None,
                            f"skipped: {exported.note}", fp32)
    try:
        with third_party_output(verbose):
            judged = workload.judge(exported.run, batch_size=MAX_BATCH)
    except Exception as error:
        return FormatResult(name, exported.path, size, None, None, None,
                            f"failed: runs here but {_first_line(error)}", fp32)
    difference = max_abs_diff(workload.reference.logits, judged.logits)
    status = "ok"
    if fp32 and difference > PARITY_TOLERANCE:
        status = f"failed: logits differ from PyTorch by {difference:.1e} > {PARITY_TOLERANCE:g}"
    if exported.note:
        print(f"warning: {name}: {exported.note}")
    return FormatResult(name, exported.path, size, difference, judged.latency_ms_p50,
                        judged.quality[workload.metric_name], status, fp32)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def write_offline_dir(workload: Workload, out: Path) -> Path:
    bundle = workload.loaded.bundle
    info = OfflineModelInfo(bundle.labels, bundle.positive_label, bundle.decision_threshold,
                     bundle.model_version)
    return write_model_dir(out, info, bundle.path("preprocessing"))


def offline_dir_works(out: Path, workload: Workload) -> bool:
    """The directory loads with the torch-free runtime and decides like the int8 model."""
    runtime = load_runtime(out)
    texts = workload.eval_set.texts[:MAX_BATCH]
    expected = workload.decide(OrtRunner(out / MODELS["int8"])(
        *runtime.encoder.encode_batch(texts)))
    return [p.label for p in runtime.predict(texts)] == [workload.labels[i] for i in expected]


def run(args: argparse.Namespace) -> LessonSummary:
    out = runs_dir(STAGE, LESSON, args.out)
    workload = load_workload(args)
    write_offline_dir(workload, out)
    (out / FORMATS_DIR).mkdir(exist_ok=True)
    with third_party_output(args.verbose):
        onnx_fp32 = export_onnx(workload.model, out / FORMATS_DIR / "model.fp32.onnx")
    jobs = ort_jobs(onnx_fp32, out)
    jobs += [(name, export, out / FORMATS_DIR / file, fp32) for name, file, export, fp32 in FORMATS]
    results = []
    for name, export, path, fp32 in jobs:
        print(f"exporting {name} ...", flush=True)
        results.append(measure_format(name, export, path, fp32, workload, args.verbose))
    seal_model_dir(out)

    metric = workload.metric_name
    print()
    print(markdown_table(
        ("format", "file", "size", "max abs Δ logit vs PyTorch", "latency p50 (ms, 1 text)", metric,
         "status"),
        [(r.format, "–" if r.path is None else r.path.relative_to(out).as_posix(),
          None if r.size_bytes is None else human_bytes(r.size_bytes),
          None if r.max_abs_diff is None else f"{r.max_abs_diff:.1e}",
          None if r.latency_ms_p50 is None else f"{r.latency_ms_p50:.3f}", r.metric, r.status)
         for r in results]))
    print(f"\noffline model directory: {out} "
          f"(try: python -m stage5b_on_device.offline_app --model-dir {out} \"your text\")")

    summary = LessonSummary(
        STAGE, LESSON, "tool", dataset=workload.eval_set.name,
        metrics={f"{r.format}_max_abs_diff": r.max_abs_diff for r in results
                 if r.max_abs_diff is not None},
        outputs=[str(r.path) for r in results if r.path is not None],
        extras={"formats": [r.to_json() for r in results], "metric": metric,
                "model_dir": str(out)},
    )
    summary.metrics["reference_" + metric] = workload.reference.quality[metric]
    for r in results:
        if not r.status.startswith("skipped") or r.format in args.require:
            summary.check(f"{r.format}: {r.status}", r.status == "ok")
    summary.check("the offline model directory classifies with the torch-free runtime",
                  offline_dir_works(out, workload))
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
