"""The shipped model, torch-free: everything a program needs to use a trained text classifier.

Standard library, numpy and onnxruntime only (an import-linter contract holds it to that and
keeps the rest of ``common`` out), so the service, the offline app and the packaged wheel
depend on this package alone. Its modules, each with one job:

* :mod:`~common.bundle.manifest` — the bundle format: file names, fields, reading and
  validating (:func:`load_bundle`), writing (:func:`bundle_writer`, :func:`write_manifest`,
  :func:`add_export`, :func:`mark_failed`), the manifest's own checksums;
* :mod:`~common.bundle.store` — named bundles and the pointer to the current one
  (:class:`BundleStore`);
* :mod:`~common.bundle.files` — checksums and crash-safe writes of files and folders;
* :mod:`~common.bundle.textprep` — the text preprocessing spec and its encoder;
* :mod:`~common.bundle.decision` — logits → probabilities → labels (:func:`decide`);
* :mod:`~common.bundle.session` — ONNX Runtime sessions and logits;
* :mod:`~common.bundle.runtime` — :class:`TextClassifierRuntime`: texts in, predictions out;
* :mod:`~common.bundle.inference` — :func:`open_bundle`: a bundle's ONNX export, ready to run.

The names below are importable from the package itself (``from common.bundle import
load_bundle``); each is loaded on first use, so reading a manifest never starts ONNX Runtime.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "BundleError": "errors",
    "Bundle": "manifest", "load_bundle": "manifest", "is_bundle": "manifest",
    "bundle_writer": "manifest", "write_manifest": "manifest", "add_export": "manifest",
    "mark_failed": "manifest", "FORMAT_VERSION": "manifest", "MANIFEST_NAME": "manifest",
    "BundleStore": "store", "StoredBundle": "store", "check_name": "store", "name_for": "store",
    "sha256_file": "files",
    "decide": "decision", "softmax": "decision",
    "TextClassifierRuntime": "runtime", "Prediction": "runtime",
    "open_bundle": "inference", "build_runtime": "inference",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
