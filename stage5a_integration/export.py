"""Export a bundle's model to ONNX and TorchScript, check both against PyTorch, record them.

Run: ``python -m stage5a_integration.export [--bundle DIR] [--samples N] [--quick]``

- **ONNX** (what the service runs, through ONNX Runtime): stage 3's exporter, dynamic batch and
  sequence axes, one self-contained file; ``onnx.checker`` validates the graph.
- **TorchScript** (``torch.jit.trace``): the older PyTorch-only format, kept for comparison in
  the benchmark. It is deprecated in favour of ``torch.export``/ExecuTorch; stage 5b goes there.

Both are compared with the eager PyTorch model on a few hundred texts from the bundle's splits,
one text at a time and in batches of 64 (padding differs between the two): the largest
absolute difference of the logits must stay within ``PARITY_TOLERANCE`` (1e-4). Only then are
the files copied into the bundle's ``exports/`` and listed, with their sha256, in its manifest.
"""

# %%
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from itertools import cycle, islice
from pathlib import Path

import numpy as np
import torch

from common.bundle.manifest import ONNX_EXPORT, ONNX_FILE, Bundle, add_export
from common.bundle.session import open_session, session_logits
from common.bundle.textprep import TextEncoder
from common.lesson import add_bundle_flag, lesson_main, lesson_parser, positive_int
from common.paths import chosen_bundle
from common.summary import LessonSummary
from stage3_text.classifier import TextClassifier, encode_tensors
from stage3_text.onnx_export import PARITY_TOLERANCE, export_onnx
from stage4_own_data import load_bundle_model, record_onnx_export

STAGE, LESSON = "stage5a_integration", "export"
BATCH_SIZES = (1, 64)
TORCHSCRIPT_EXPORT, TORCHSCRIPT_FILE = "torchscript", "model.torchscript.pt"
# Inputs that break careless exports: empty, only unknown words, very long, mixed scripts.
EDGE_TEXTS = ("", "!!!", "zzzzqqq xxyyzz", "Привет, как дела?", "🙂 " * 50,
              "free " * 400, "Ünïcödé ﬁ ｆｕｌｌ-width")

Logits = Callable[[list[str]], np.ndarray]


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    add_bundle_flag(parser)
    parser.add_argument("--samples", type=positive_int, default=320,
                        help="texts to compare PyTorch and the exports on (--quick: 128)")
    return parser


def split_texts(bundle: Bundle, count: int) -> list[str]:
    """``count`` texts from the test, validation and training splits (repeated if too few)."""
    texts: list[str] = []
    for split in ("test", "val", "train"):
        with bundle.split_path(split).open(encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines if line.strip()]
    return list(islice(cycle(texts), count))


def parity_texts(bundle: Bundle, count: int) -> list[str]:
    """The edge cases, then texts from the bundle's splits: ``count`` in all."""
    return [*EDGE_TEXTS, *split_texts(bundle, count)][:count]


def batched_logits(forward: Logits, texts: Sequence[str], batch_size: int) -> np.ndarray:
    return np.concatenate([forward(list(texts[start:start + batch_size]))
                           for start in range(0, len(texts), batch_size)])


def eager_forward(model: TextClassifier, encoder: TextEncoder) -> Logits:
    def forward(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return model(*encode_tensors(encoder, texts)).numpy()
    return forward


def torchscript_forward(module: torch.jit.ScriptModule, encoder: TextEncoder) -> Logits:
    def forward(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return module(*encode_tensors(encoder, texts)).numpy()
    return forward


def onnx_forward(path: Path, encoder: TextEncoder) -> Logits:
    session = open_session(path)

    def forward(texts: list[str]) -> np.ndarray:
        return session_logits(session, *encoder.encode_batch(texts))
    return forward


def export_torchscript(model: TextClassifier, encoder: TextEncoder, path: Path) -> Path:
    """Trace on a batch of 2 (never 1, which would bake the size in), check on other shapes."""
    example = encode_tensors(encoder, ["a first example text", "and a second, longer one here"])
    other_shapes = [encode_tensors(encoder, ["one"]),
                    encode_tensors(encoder, ["x", "a b c d e f g", "longer " * 30])]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice: said in the guide
        traced = torch.jit.trace(model, example, check_inputs=other_shapes)
        torch.jit.save(traced, str(path))
    return path


def load_torchscript(path: Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same deprecation notice
        return torch.jit.load(str(path))


def check_onnx(path: Path) -> None:
    """``onnx.checker`` with shape inference: a malformed graph fails here, not in production."""
    import onnx

    onnx.checker.check_model(str(path), full_check=True)


def run(args: argparse.Namespace) -> LessonSummary:
    loaded = load_bundle_model(chosen_bundle(args.bundle))
    bundle, model, encoder = loaded.bundle, loaded.model.cpu().eval(), loaded.encoder
    texts = parity_texts(bundle, min(args.samples, 128) if args.quick else args.samples)
    print(f"bundle: {bundle.root} (model {bundle.model_version}, {bundle.task}, "
          f"labels {', '.join(bundle.labels) or '-'}); parity on {len(texts)} texts")

    summary = LessonSummary(STAGE, LESSON, "tool", dataset=f"bundle splits ({len(texts)} texts)",
                            extras={"bundle": str(bundle.root),
                                    "model_version": bundle.model_version})
    with tempfile.TemporaryDirectory() as scratch:
        onnx_path = export_onnx(model, Path(scratch) / ONNX_FILE)
        check_onnx(onnx_path)
        summary.check("onnx.checker accepts the graph (full check)", True)
        script_path = export_torchscript(model, encoder, Path(scratch) / TORCHSCRIPT_FILE)
        exports = {ONNX_EXPORT: (onnx_path, onnx_forward(onnx_path, encoder)),
                   TORCHSCRIPT_EXPORT: (script_path, torchscript_forward(
                       load_torchscript(script_path), encoder))}
        eager = eager_forward(model, encoder)
        differences: dict[str, float] = {}
        for batch_size in BATCH_SIZES:
            expected = batched_logits(eager, texts, batch_size)
            for name, (_, forward) in exports.items():
                gap = float(np.abs(batched_logits(forward, texts, batch_size) - expected).max())
                differences[f"{name}_max_abs_diff_batch{batch_size}"] = gap
                print(f"  {name:<12} batch {batch_size:>2}: max |logit diff| = {gap:.2e}")
                summary.check(f"{name} logits within {PARITY_TOLERANCE:g} of PyTorch at batch "
                              f"{batch_size}", gap <= PARITY_TOLERANCE)
        summary.metrics.update(differences)
        if summary.passed:  # a model that disagrees with PyTorch must not reach the service
            for name, (path, _) in exports.items():
                worst = max(v for k, v in differences.items() if k.startswith(name))
                measured = {"max_abs_diff": worst, "parity_texts": len(texts),
                            "batch_sizes": list(BATCH_SIZES)}
                entry = (record_onnx_export(bundle.root, path, **measured)
                         if name == ONNX_EXPORT else
                         add_export(bundle.root, path, name=name, format=name, **measured))
                summary.metrics[f"{name}_bytes"] = entry["bytes"]
                summary.outputs.append(str(bundle.root / entry["file"]))
                print(f"  recorded {entry['file']} ({entry['bytes']:,} bytes, "
                      f"sha256 {entry['sha256'][:12]}…) in {bundle.root / 'manifest.json'}")
        else:
            print("  not recorded in the bundle: the exports disagree with PyTorch")
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
