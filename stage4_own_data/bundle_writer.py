"""Writing a model bundle (format: :mod:`common.bundle`) so that it is whole or absent.

Everything is written into a hidden staging folder beside ``--out`` and renamed into place at the
very end; a failure at any step removes the staging folder, so ``--out`` never holds half a
bundle (an older complete bundle stays until the new one replaces it). A folder that holds other
files is never replaced: a mistyped ``--out`` must not delete someone's work.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from common.bundle import MANIFEST_NAME, sha256_file, write_manifest
from common.errors import UsageError
from common.textprep import save_spec_with_vectors
from stage4_own_data.evaluation import Evaluation
from stage4_own_data.model_card import render_model_card
from stage4_own_data.report import render_markdown
from stage4_own_data.splitting import Splits
from stage4_own_data.train import Trained

ARCHITECTURE = "stage3_text.classifier.TextClassifier"
WEIGHTS, SPEC, METRICS = "model.safetensors", "preprocessing.json", "metrics.json"
REPORT_JSON, REPORT_MD, CARD = "data_report.json", "data_report.md", "MODEL_CARD.md"
VECTOR_EXAMPLES = 5  # test-split texts added to the spec's standard test vectors


def check_out_dir(out: Path) -> None:
    """Refuse, before any work, an ``--out`` that is a file or a folder of other things."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise UsageError(f"--out {out} holds files that are not a model bundle; refusing to "
                         "replace it (choose a new or empty folder)")


@contextmanager
def atomic_directory(out: Path) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``out``, on any failure it disappears."""
    check_out_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield staging
        staging.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be read
        if out.exists():
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def write_bundle(
    root: Path, *, trained: Trained, splits: Splits, evaluation: Evaluation,
    report: dict[str, Any], metrics: dict[str, Any], task: str, max_text_chars: int,
) -> dict[str, Any]:
    """Write every bundle file into ``root`` (a staging folder), the manifest last."""
    state = {name: tensor.detach().cpu().contiguous()
             for name, tensor in trained.model.state_dict().items()}
    save_file(state, str(root / WEIGHTS), metadata={"format": "pt"})
    (root / WEIGHTS).chmod(0o644)  # safetensors writes it private; a bundle is meant to be read
    _, vectors = save_spec_with_vectors(trained.spec, root / SPEC,
                                        extra_texts=splits.test.texts[:VECTOR_EXAMPLES])
    split_paths = {}
    for name, split in splits.items():
        (root / "splits").mkdir(exist_ok=True)
        split.write_jsonl(root / "splits" / f"{name}.jsonl")
        split_paths[name] = f"splits/{name}.jsonl"
    write_json(root / METRICS, metrics)
    write_json(root / REPORT_JSON, report)
    (root / REPORT_MD).write_text(render_markdown(report), encoding="utf-8")
    created = dt.datetime.now(dt.timezone.utc)
    fields = {
        "created_at": created.isoformat(timespec="seconds"),
        "model_version": f"{created:%Y.%m.%d}+{sha256_file(root / WEIGHTS)[:12]}",
        "task": task,
        "labels": list(trained.labels),
        "positive_label": evaluation.positive_label,
        "decision_threshold": evaluation.decision_threshold,
        "max_text_chars": max_text_chars,
        "model": {"architecture": ARCHITECTURE, "config": trained.config.to_json(),
                  "inputs": ["word_ids", "ngram_ids"],
                  "output": "logits" if task == "classification" else "value"},
        "dataset": {"source": report["source"]["path"], "encoding": report["source"]["encoding"],
                    "rows_in": report["rows_in"], "rows_kept": report["rows_kept"]},
        "paths": {"weights": WEIGHTS, "preprocessing": SPEC,
                  "preprocessing_vectors": vectors.name, "metrics": METRICS,
                  "data_report": REPORT_JSON, "data_report_md": REPORT_MD, "model_card": CARD,
                  "splits": split_paths},
    }
    (root / CARD).write_text(render_model_card(fields, report, metrics), encoding="utf-8")
    return write_manifest(root, fields)
