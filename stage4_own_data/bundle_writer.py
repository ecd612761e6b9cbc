"""What goes into a stage 4 model bundle (format and crash-safe writing: :mod:`common.bundle`).

:func:`write_bundle` fills a staging folder that :func:`common.bundle.manifest.bundle_writer`
(or a :class:`~common.bundle.store.BundleStore`) gave the pipeline; the manifest comes last, so
a folder without one is never mistaken for a bundle.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from common.bundle.errors import BundleError
from common.bundle.files import STAGING_MARK, sha256_file, write_json
from common.bundle.manifest import (
    CARD,
    INPUT_NAMES,
    METRICS,
    OUTPUT_NAME,
    REPORT_JSON,
    REPORT_MD,
    SPEC,
    SPLITS_DIR,
    WEIGHTS,
    bundle_writer,
    load_bundle,
    mark_failed,
    write_manifest,
)
from common.bundle.textprep import save_spec_with_vectors
from common.weights import save_safetensors
from stage4_own_data.bundle_model import ARCHITECTURE
from stage4_own_data.evaluation import Assessment
from stage4_own_data.model_card import render_model_card
from stage4_own_data.report import render_markdown
from stage4_own_data.splitting import Splits
from stage4_own_data.train import Trained

VECTOR_EXAMPLES = 5  # test-split texts added to the spec's standard test vectors
FAILED_SUFFIX = ".failed"


def holds_good_bundle(target: Path) -> bool:
    """Whether ``target`` holds a bundle that validates and whose run passed its bars."""
    try:
        return load_bundle(target).failed is None
    except BundleError:
        return False


def failed_beside(target: Path) -> Path:
    """Where a failed run's bundle goes when a good one holds ``target``: ``<target>.failed``."""
    return target.with_name(f"{target.name}{FAILED_SUFFIX}")


class SetAside(Exception):
    """Raised out of a bundle writer to keep the good bundle: the new one went to ``path``."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def keep_failed(staging: Path, target: Path, reason: str, *, keep_target: bool) -> None:
    """Mark the bundle in ``staging`` failed; with ``keep_target`` move it beside ``target``.

    A failed run must never replace a good bundle: the caller's writer for ``target`` is then
    aborted by :class:`SetAside`, which leaves the good bundle where it was.
    """
    mark_failed(staging, reason)
    if not keep_target:
        return  # nothing good is at the target: the failed bundle goes there, marked
    aside = failed_beside(target)
    with bundle_writer(aside) as other:
        for child in staging.iterdir():
            if child.name != STAGING_MARK:
                child.rename(other / child.name)
    raise SetAside(aside)


def write_bundle(
    root: Path, *, trained: Trained, splits: Splits, evaluation: Assessment,
    report: dict[str, Any], metrics: dict[str, Any], task: str, max_text_chars: int,
) -> dict[str, Any]:
    """Write every bundle file into ``root`` (a staging folder), the manifest last."""
    save_safetensors(trained.model, root / WEIGHTS, {"format": "pt"})
    _, vectors = save_spec_with_vectors(trained.spec, root / SPEC,
                                        extra_texts=splits.test.texts[:VECTOR_EXAMPLES])
    split_paths = {}
    for name, split in splits.items():
        (root / SPLITS_DIR).mkdir(exist_ok=True)
        split.write_jsonl(root / SPLITS_DIR / f"{name}.jsonl")
        split_paths[name] = f"{SPLITS_DIR}/{name}.jsonl"
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
                  "inputs": list(INPUT_NAMES),
                  "output": OUTPUT_NAME if task == "classification" else "value"},
        "dataset": {"source": report["source"]["path"], "encoding": report["source"]["encoding"],
                    "rows_in": report["rows_in"], "rows_kept": report["rows_kept"]},
        "paths": {"weights": WEIGHTS, "preprocessing": SPEC,
                  "preprocessing_vectors": vectors.name, "metrics": METRICS,
                  "data_report": REPORT_JSON, "data_report_md": REPORT_MD, "model_card": CARD,
                  "splits": split_paths},
    }
    (root / CARD).write_text(render_model_card(fields, report, metrics), encoding="utf-8")
    return write_manifest(root, fields)
