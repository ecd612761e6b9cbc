"""Stage 4: your own data: a cleaning pipeline, metrics and a model bundle.

The names below are stage 4's public door: stages 5a and 5b use them, never a submodule (an
import-linter contract in pyproject.toml checks it), so stage 4 may reorganise its insides
freely. Each is imported on first use: ``import stage4_own_data`` alone costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "BundleModel": "bundle_model", "load_bundle_model": "bundle_model",
    "record_onnx_export": "bundle_model",
    "read_table": "reading", "choose_columns": "columns", "clean": "cleaning",
    "text_key": "cleaning", "label_ids": "train",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
