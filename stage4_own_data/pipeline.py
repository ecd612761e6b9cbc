"""Your own data → a checked, documented model bundle: read, clean, check, split, train, measure.

Without ``--input`` it uses ``data/support_inbox.csv``, a support inbox in English and Russian
with the mess real exports have. With your file, name the columns if the guesses are wrong::

    python -m stage4_own_data.pipeline --input reviews.csv --no-header \\
        --label-column 0 --text-column 1

Every step says what it decided (encoding, delimiter, header, columns, rows dropped and why). The
bundle goes to ``--out`` (default ``runs/stage4_own_data/bundle/``, where stages 5a and 5b look)
and is written whole or not at all. Bad input stops the run with one line on stderr (exit 2).
"""

# %%
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from common.bundle import (
    DEFAULT_BUNDLE_DIR,
    Bundle,
    add_export,
    default_bundle_dir,
    load_bundle,
)
from common.devices import pick_device
from common.lesson import lesson_main, lesson_parser, positive_float, positive_int, probability
from common.paths import SHIPPED_DATA_DIR
from common.plots import plot_loss_curves
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import log_epoch
from stage4_own_data.bundle_writer import atomic_directory, check_out_dir, write_bundle
from stage4_own_data.cleaning import DEFAULT_MAX_TEXT_CHARS, MIN_EXAMPLES_PER_LABEL, clean
from stage4_own_data.columns import choose_columns
from stage4_own_data.evaluation import (
    DEFAULT_TARGET_RECALL,
    Evaluation,
    choose_positive_label,
    evaluate_classifier,
    evaluate_regressor,
)
from stage4_own_data.reading import read_table
from stage4_own_data.report import add_splits, build_report
from stage4_own_data.splitting import Splits, check_trainable, data_checks, split_data
from stage4_own_data.train import (
    DEFAULT_GRID,
    QUICK_SETTINGS,
    Trained,
    train_model,
    training_config,
)

STAGE, LESSON = "stage4_own_data", "pipeline"
DEFAULT_INPUT = SHIPPED_DATA_DIR / "support_inbox.csv"
SHIPPED_DATASET = "support-inbox"
# Loss bars relative to knowing nothing: ln(k) is the cross-entropy of a uniform guess over k
# classes, and the variance of the target is the MSE of always predicting its mean.
LOSS_RATIO = {"default": 0.6, "quick": 0.8}
ONNX_FILE = "model.onnx"


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], epochs=60,
                           out_help=f"bundle folder (default: {DEFAULT_BUNDLE_DIR}/ here)")
    data = parser.add_argument_group("data")
    data.add_argument("--input", type=Path, default=None,
                      help=f"CSV/TSV/JSON Lines/Parquet file (default: {DEFAULT_INPUT.name})")
    data.add_argument("--text-column", default=None, help="name or 0-based position")
    data.add_argument("--label-column", default=None, help="name or 0-based position")
    data.add_argument("--no-header", action="store_true", help="the first row is data")
    data.add_argument("--sep", default=None, help="delimiter, e.g. ';' or tab (default: detect)")
    data.add_argument("--encoding", default=None,
                      help="force an encoding, e.g. cp1251 (default: detect)")
    data.add_argument("--min-examples", type=positive_int, default=MIN_EXAMPLES_PER_LABEL,
                      help="drop labels with fewer rows than this (rare_label)")
    data.add_argument("--max-text-chars", type=positive_int, default=DEFAULT_MAX_TEXT_CHARS,
                      help="drop longer texts (too_long); the bundle's input limit")
    model = parser.add_argument_group("model")
    model.add_argument("--task", choices=("classification", "regression"),
                       default="classification",
                       help="regression only when the label is a number to predict")
    model.add_argument("--target-recall", type=probability, default=DEFAULT_TARGET_RECALL,
                       help="two classes: choose the threshold that reaches this recall")
    model.add_argument("--positive-label", default=None,
                       help="two classes: the class to find (default: the rarer one)")
    model.add_argument("--lr", type=positive_float, default=2e-2, help="Adam learning rate")
    model.add_argument("--batch-size", type=positive_int, default=32, help="texts per step")
    model.add_argument("--patience", type=positive_int, default=6,
                       help="early stopping: epochs without a better validation loss")
    model.add_argument("--onnx", action="store_true",
                       help="also export the model to ONNX into the bundle's exports/")
    return parser


def loss_threshold(task: str, splits: Splits, quick: bool) -> float:
    ratio = LOSS_RATIO["quick" if quick else "default"]
    if task == "classification":
        return ratio * math.log(len(set(splits.train.labels)))
    return ratio * float(np.var(np.asarray(splits.train.labels, dtype=float)))


def dataset_name(path: Path) -> str:
    return SHIPPED_DATASET if path.resolve() == DEFAULT_INPUT.resolve() else f"file:{path.name}"


def header_flag(args: argparse.Namespace) -> bool | None:
    """``--no-header`` → no; a column named (not numbered) → yes; otherwise detect."""
    if args.no_header:
        return False
    named = [c for c in (args.text_column, args.label_column) if c is not None]
    return True if any(not c.lstrip("-").isdigit() for c in named) else None


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    out = Path(args.out) if args.out else default_bundle_dir()
    check_out_dir(out)  # before any work: a refused --out should not cost a training run
    generator = seed_everything(args.seed)
    device = pick_device(args.device)
    path = args.input if args.input is not None else DEFAULT_INPUT

    # 1. read: encoding, delimiter and header are guessed and said, or forced by flags
    table = read_table(path, sep=args.sep, header=header_flag(args), encoding=args.encoding)
    print(f"dataset: {dataset_name(path)} ({path}), {table.rows} rows")
    for note in table.notes:
        print(f"  read: {note}")
    columns = choose_columns(table, args.text_column, args.label_column, task=args.task)
    print(f"  columns: text {columns.text!r}, label {columns.label!r} ({columns.how})")

    # 2. clean, with every dropped row counted by reason
    cleaned = clean(table.values(columns.text), table.values(columns.label), task=args.task,
                    max_text_chars=args.max_text_chars, min_examples=args.min_examples,
                    malformed_rows=table.malformed_rows)
    dropped = {reason: n for reason, n in cleaned.rows_dropped.items() if n}
    print(f"cleaning: {cleaned.rows_in} rows in, {cleaned.rows_kept} kept, dropped "
          + (", ".join(f"{reason} {n}" for reason, n in dropped.items()) or "none"))
    report = build_report(table, columns, cleaned, task=args.task,
                          max_text_chars=args.max_text_chars, min_examples=args.min_examples)

    # 3. check and split: the run stops here (exit 2) when the data cannot train a model
    check_trainable(cleaned, args.task)
    splits = split_data(cleaned, task=args.task, seed=args.seed)
    add_splits(report, {name: split.labels for name, split in splits.items()}, args.task)
    report["checks"] = data_checks(splits, args.task)
    print("split: " + ", ".join(f"{name} {len(split)}" for name, split in splits.items()))
    for warning in report["warnings"]:
        print(f"  warning: {warning}")

    # 4. train, measure and write the bundle: all inside a staging folder, renamed at the end
    training = training_config(quick=args.quick, epochs=args.epochs, lr=args.lr,
                               batch_size=args.batch_size, patience=args.patience)
    with atomic_directory(out) as staging:
        trained = train_model(splits, task=args.task,
                              settings=QUICK_SETTINGS if args.quick else DEFAULT_GRID,
                              training=training, generator=generator, device=device,
                              on_epoch=log_epoch)
        evaluation = _evaluate(trained, splits, args, staging)
        evaluation.plots.append(plot_loss_curves(
            {"train": trained.history.train_losses, "validation": trained.history.val_losses},
            staging / "plots" / "loss_curves.png", title=f"Loss per epoch ({args.task})"))
        metrics = _metrics_document(trained, evaluation, report, args, dataset_name(path))
        manifest = write_bundle(staging, trained=trained, splits=splits, evaluation=evaluation,
                                report=report, metrics=metrics, task=args.task,
                                max_text_chars=args.max_text_chars)
        onnx_diff = _export_onnx(trained, splits, staging) if args.onnx else None
    print(f"bundle: {out} (model version {manifest['model_version']})")

    summary = LessonSummary(
        STAGE, LESSON, "train", dataset=dataset_name(path),
        final_loss=evaluation.final_loss,
        loss_threshold=loss_threshold(args.task, splits, args.quick),
        metrics=evaluation.summary_metrics,
        outputs=[str(out / path.relative_to(staging)) for path in evaluation.plots]
        + [str(out / "manifest.json")],
        extras={"data": _data_facts(report), "task": args.task, "bundle": str(out),
                "columns": columns.to_json(), "model_version": manifest["model_version"]},
    )
    for name, ok in report["checks"].items():
        summary.check(name, ok)
    if onnx_diff is not None:
        summary.metrics["onnx_max_abs_diff"] = onnx_diff
        summary.check("ONNX logits match PyTorch within 1e-4", onnx_diff <= 1e-4)
    return summary


def _evaluate(trained: Trained, splits: Splits, args: argparse.Namespace,
              staging: Path) -> Evaluation:
    if args.task == "regression":
        return evaluate_regressor(trained, splits, plots_dir=staging / "plots")
    positive = (choose_positive_label(list(splits.train.labels), trained.labels,
                                      args.positive_label)
                if len(trained.labels) == 2 else None)
    return evaluate_classifier(trained, splits, positive_label=positive,
                               target_recall=args.target_recall, plots_dir=staging / "plots")


def _data_facts(report: dict[str, Any]) -> dict[str, Any]:
    """The top-level ``data`` of the JSON summary and of metrics.json."""
    return {"rows_in": report["rows_in"], "rows_kept": report["rows_kept"],
            "rows_dropped": report["rows_dropped"], "encoding": report["source"]["encoding"]}


def _metrics_document(trained: Trained, evaluation: Evaluation, report: dict[str, Any],
                      args: argparse.Namespace, dataset: str) -> dict[str, Any]:
    history = trained.history
    return {
        "task": args.task, "dataset": dataset, "labels": list(trained.labels),
        "positive_label": evaluation.positive_label,
        "decision_threshold": evaluation.decision_threshold,
        "metrics": evaluation.summary_metrics,
        **evaluation.details,
        "history": {"train_loss": history.train_losses, "val_loss": history.val_losses,
                    "best_epoch": history.best_epoch, "stopped_early": history.stopped_early},
        "model_selection": trained.selection_json(),
        "data": _data_facts(report),
        "seed": args.seed, "quick": args.quick,
    }


def _export_onnx(trained: Trained, splits: Splits, root: Path) -> float:
    """Export to ``exports/model.onnx``, record it in the manifest, return the parity gap."""
    from stage3_text.classifier import encode_tensors
    from stage3_text.onnx_export import OPSET, export_onnx, parity

    path = export_onnx(trained.model, root / "exports" / ONNX_FILE)
    words, ngrams = encode_tensors(trained.encoder, splits.test.texts)
    difference = parity(trained.model, path, words, ngrams)
    add_export(root, path, name="onnx", format="onnx", opset=OPSET,
               inputs=["word_ids", "ngram_ids"], output="logits", max_abs_diff=difference)
    return difference


def build_bundle(out_dir: str | Path, *, quick: bool = True, seed: int = 0, onnx: bool = False,
                 extra_args: tuple[str, ...] = ()) -> Bundle:
    """Train a bundle into ``out_dir`` and return it loaded: the fixture of 5a's and 5b's tests.

    ``extra_args`` are further pipeline flags (e.g. ``("--input", "my.csv")``).
    """
    argv = ["--out", str(out_dir), "--seed", str(seed), *extra_args]
    argv += ["--quick"] if quick else []
    argv += ["--onnx"] if onnx else []
    summary = run(build_parser().parse_args(argv))
    if not summary.passed:
        raise RuntimeError(f"the bundle in {out_dir} missed its bars: {summary.failed_checks}")
    return load_bundle(out_dir)


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
