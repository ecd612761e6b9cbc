"""The offline model directory: everything an app on a device needs, and nothing that needs torch.

``python -m stage5b_on_device.export_mobile --out DIR`` writes it; the offline app
(``python -m stage5b_on_device.offline_app --model-dir DIR``) and a phone app read it::

    DIR/
      model.json                  labels, positive label, threshold, file names (below), version
      model.int8.ort              the model, int8, ORT format (what an app ships by default)
      model.fp32.ort              the same model in fp32 (bigger; the reference)
      preprocessing.json          the text spec (common.bundle.textprep): raw string → ids
      preprocessing.vectors.json  its test vectors: a port checks itself against them at start
      formats/                    the other formats (ExecuTorch .pte, TorchScript .ptl, Core ML
                                  .mlpackage, TFLite .tflite) for the native apps in the guide
      SHA256SUMS                  the sha256 of every file above (``sha256sum -c SHA256SUMS``):
                                  the apps refuse a changed, missing or extra file

Standard library, numpy and onnxruntime only: the model opens through the torch-free package
(:func:`common.bundle.inference.build_runtime`), like a bundle's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from common.bundle.inference import build_runtime
from common.bundle.jsonfile import read_json_object
from common.bundle.runtime import TextClassifierRuntime
from common.bundle.textprep import test_vectors_path
from common.errors import UsageError
from stage5b_on_device.sha256sums import verify_sha256sums, write_sha256sums

FORMAT, VERSION = "ml-roadmap/offline-model", 1
MANIFEST = "model.json"
MODELS = {"int8": "model.int8.ort", "fp32": "model.fp32.ort"}
SPEC = "preprocessing.json"
FORMATS_DIR = "formats"
# What onnxruntime raises for a model file it cannot read (its own classes, not RuntimeError).
UNREADABLE_MODEL = (ort_errors.Fail, ort_errors.InvalidArgument, ort_errors.InvalidGraph,
                    ort_errors.InvalidProtobuf, ort_errors.NoSuchFile, ort_errors.NotImplemented,
                    ort_errors.RuntimeException)


@dataclass(frozen=True)
class OfflineModelInfo:
    """The decision rule and the provenance of the model in a directory."""

    labels: tuple[str, ...]
    positive_label: str | None
    threshold: float | None
    model_version: str

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "labels": list(self.labels),
                "positive_label": self.positive_label, "threshold": self.threshold,
                "model_version": self.model_version, "models": MODELS, "spec": SPEC}


def write_model_dir(root: Path, info: OfflineModelInfo, spec_path: Path) -> Path:
    """Start a model directory: ``model.json`` and the spec with its test vectors.

    The ``.ort`` models go in by name (``root / MODELS[...]``) as the exporter makes them;
    :func:`seal_model_dir` writes ``SHA256SUMS`` once the last file is in.
    """
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec_path, root / SPEC)
    shutil.copyfile(test_vectors_path(spec_path), test_vectors_path(root / SPEC))
    (root / MANIFEST).write_text(json.dumps(info.to_json(), ensure_ascii=False, indent=1) + "\n",
                                 encoding="utf-8")
    return root


def seal_model_dir(root: Path) -> Path:
    """Write the directory's ``SHA256SUMS``: from now on a changed byte anywhere is refused."""
    return write_sha256sums(root)


def read_model_info(root: Path) -> OfflineModelInfo:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise UsageError(f"{root} is not an offline model directory: it has no {MANIFEST} "
                         "(make one with `python -m stage5b_on_device.export_mobile --out DIR`)")
    data = read_json_object(path, error=UsageError, what="model directory manifest")
    if data.get("format") != FORMAT:
        raise UsageError(f"{path} is not an {FORMAT} manifest")
    if data.get("version") != VERSION:
        raise UsageError(f"{path}: version {data.get('version')} is not supported "
                         f"(this code reads version {VERSION})")
    try:
        return OfflineModelInfo(tuple(data["labels"]), data["positive_label"], data["threshold"],
                         str(data["model_version"]))
    except (KeyError, TypeError) as error:
        raise UsageError(f"{path} lacks a field: {error}") from None


def load_runtime(root: Path, precision: str = "int8") -> TextClassifierRuntime:
    """The torch-free classifier of a sealed model directory, its spec checked on its vectors.

    Every file is checked against ``SHA256SUMS`` first, so a flipped byte anywhere (the model,
    the spec, the manifest, a format below ``formats/``) stops the app with one line.
    """
    root = Path(root)
    info = read_model_info(root)
    verify_sha256sums(root)
    try:
        return build_runtime(root / SPEC, test_vectors_path(root / SPEC), root / MODELS[precision],
                             info.labels, positive_label=info.positive_label,
                             threshold=info.threshold)
    except UNREADABLE_MODEL as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"{root / MODELS[precision]}: not a model ONNX Runtime can load "
                         f"({first})") from None
