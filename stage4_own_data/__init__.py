"""Stage 4: your own data: a cleaning pipeline, metrics and a model bundle.

The names below are stage 4's public door: stages 5a and 5b use them, never a submodule (an
import-linter contract in pyproject.toml checks it), so stage 4 may reorganise its insides
freely.
"""

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before the imports below pull in torch: Ctrl-C then gives one line

from stage4_own_data.bundle_model import BundleModel, load_bundle_model, record_onnx_export  # noqa: E402
from stage4_own_data.cleaning import clean, text_key  # noqa: E402
from stage4_own_data.columns import choose_columns, text_column  # noqa: E402
from stage4_own_data.reading import read_table  # noqa: E402
from stage4_own_data.train import label_ids  # noqa: E402

__all__ = ["BundleModel", "choose_columns", "clean", "label_ids", "load_bundle_model",
           "read_table", "record_onnx_export", "text_column", "text_key"]
