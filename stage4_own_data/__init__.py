"""Stage 4: your own data: a cleaning pipeline, metrics and a model bundle.

The names below are stage 4's public door: stages 5a and 5b use them, never a submodule (an
import-linter contract in pyproject.toml checks it), so stage 4 may reorganise its insides
freely. They are imported on first use (PEP 562): the door costs nothing until it is used, so
a torch-free part such as an exercise check on row accounting starts in a second, not after
PyTorch has loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before any module of the stage pulls in torch: Ctrl-C then gives one line

if TYPE_CHECKING:
    from stage4_own_data.bundle_model import BundleModel, load_bundle_model, record_onnx_export
    from stage4_own_data.cleaning import clean, text_key
    from stage4_own_data.columns import choose_columns, text_column
    from stage4_own_data.reading import read_table
    from stage4_own_data.train import label_ids

_HOMES = {"BundleModel": "bundle_model", "load_bundle_model": "bundle_model",
          "record_onnx_export": "bundle_model", "clean": "cleaning", "text_key": "cleaning",
          "choose_columns": "columns", "text_column": "columns", "read_table": "reading",
          "label_ids": "train"}
__all__ = ["BundleModel", "choose_columns", "clean", "label_ids", "load_bundle_model",
           "read_table", "record_onnx_export", "text_column", "text_key"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value
