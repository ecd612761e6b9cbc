"""Your own data → a checked, documented model bundle: read, clean, check, split, train, measure.

Without ``--input`` it uses ``data/support_inbox.csv``, a support inbox in English and Russian
with the mess real exports have. With your file, name the columns if the guesses are wrong::

    python -m stage4_own_data.pipeline --input reviews.csv --no-header \\
        --label-column 0 --text-column 1

Every step says what it decided (encoding, delimiter, header, columns, rows dropped and why). The
bundle goes to ``runs/stage4_own_data/bundles/<name>/`` (``--name``, else the input file's stem)
and becomes the *current* bundle, the one stages 5a and 5b use by default; ``--out DIR`` writes
it elsewhere instead. Either way it is written whole or not at all (:mod:`common.bundle`). Bad
input stops the run with one line on stderr (exit 2).
"""

# %%
from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from common.bundle.errors import BundleError
from common.bundle.files import check_replaceable
from common.bundle.manifest import EXPORTS_DIR, ONNX_FILE, bundle_writer, is_bundle
from common.bundle.store import BundleStore, check_name, name_for
from common.devices import pick_device
from common.distributed import is_main_process
from common.lesson import lesson_main, lesson_parser, positive_float, positive_int, probability
from common.memory import release_freed_memory, return_large_blocks_to_os
from common.paths import SHIPPED_DATA_DIR, bundle_store
from common.registry import BUNDLE_STORE_DIR
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import log_epoch
from stage3_text.classifier import TrainingConfig
from stage3_text.onnx_export import PARITY_TOLERANCE
from stage4_own_data.bundle_model import record_onnx_export
from stage4_own_data.bundle_writer import (
    SetAside,
    holds_good_bundle,
    keep_failed,
    write_bundle,
)
from stage4_own_data.cleaning import DEFAULT_MAX_TEXT_CHARS, MIN_EXAMPLES_PER_LABEL, clean
from stage4_own_data.columns import choose_columns
from stage4_own_data.evaluation import (
    DEFAULT_TARGET_RECALL,
    Assessment,
    choose_positive_label,
    evaluate_classifier,
    evaluate_regressor,
)
from stage4_own_data.learning_curve import LearningCurve, learning_curve, plot_learning_curve
from stage4_own_data.reading import read_table
from stage4_own_data.report import add_splits, build_report
from stage4_own_data.splitting import Splits, check_trainable, data_checks, split_data
from stage4_own_data.train import (
    DEFAULT_BATCH,
    DEFAULT_EPOCHS,
    MAX_STEPS,
    QUICK_SETTINGS,
    ROW_PASSES,
    STEPS_PER_EPOCH,
    Trained,
    candidate_grid,
    refit_on_train_and_val,
    train_model,
    training_config,
)

STAGE, LESSON = "stage4_own_data", "pipeline"
DEFAULT_INPUT = SHIPPED_DATA_DIR / "support_inbox.csv"
SHIPPED_DATASET = "support-inbox"


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0],
                           out_help=f"write the bundle to this folder instead of "
                                    f"{BUNDLE_STORE_DIR}/NAME/ (the current bundle is not moved)")
    parser.add_argument("--name", type=bundle_name, default=None,
                        help="the bundle's name in the store (default: the input file's stem)")
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
    model.add_argument("--epochs", type=positive_int, default=None,
                       help=f"passes over the training data (default: {DEFAULT_EPOCHS}, fewer "
                            f"for large data: at most {MAX_STEPS:,} steps and {ROW_PASSES:,} "
                            "rows passed in all)")
    model.add_argument("--batch-size", type=positive_int, default=None,
                       help=f"texts per step (default: {DEFAULT_BATCH}, more for large data: "
                            f"at most {STEPS_PER_EPOCH:,} steps an epoch)")
    model.add_argument("--patience", type=positive_int, default=6,
                       help="early stopping: epochs without a better validation loss")
    model.add_argument("--onnx", action="store_true",
                       help="also export the model to ONNX into the bundle's exports/")
    return parser


def bundle_name(text: str) -> str:
    try:
        return check_name(text)
    except BundleError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    path = args.input if args.input is not None else DEFAULT_INPUT
    store = bundle_store()
    name = args.name or name_for(path)
    out = Path(args.out) if args.out else store.path(name)
    check_replaceable(out, is_bundle)  # before any work: a refused folder costs no training
    device = pick_device(args.device)
    return_large_blocks_to_os()  # a large file's freed chunks must not stay in the peak memory

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
                    lines=table.lines, malformed=table.malformed, progress=True)
    dropped = {reason: n for reason, n in cleaned.rows_dropped.items() if n}
    print(f"cleaning: {cleaned.rows_in} rows in, {cleaned.rows_kept} kept, dropped "
          + (", ".join(f"{reason} {n}" for reason, n in dropped.items()) or "none"))
    report = build_report(table, columns, cleaned, task=args.task,
                          max_text_chars=args.max_text_chars, min_examples=args.min_examples)
    del table  # the raw cells: on a large file as much memory as the cleaned texts
    release_freed_memory()

    # 3. check and split: the run stops here (exit 2) when the data cannot train a model
    check_trainable(cleaned, args.task)
    splits = split_data(cleaned, task=args.task, seed=args.seed)
    add_splits(report, {name: split.labels for name, split in splits.items()}, args.task)
    report["checks"] = data_checks(splits, args.task)
    print("split: " + ", ".join(f"{name} {len(split)}" for name, split in splits.items()))
    for warning in report["warnings"]:
        print(f"  warning: {warning}")

    # 4. train, measure and write the bundle: all inside a staging folder, renamed at the end
    def training(rows: int) -> TrainingConfig:
        return training_config(quick=args.quick, epochs=args.epochs, lr=args.lr,
                               batch_size=args.batch_size, patience=args.patience, rows=rows)

    settings = QUICK_SETTINGS if args.quick else candidate_grid(splits, args.task)
    full = training(len(splits.train))
    print(f"training: batch {full.batch_size}, at most {full.epochs} epochs for "
          f"{len(splits.train)} training rows")

    def train(on: Splits, grid: Any = settings, **options: Any) -> Trained:
        """Every model of this run starts from the same seed (so the learning curve does too)."""
        return train_model(on, task=args.task, settings=grid, training=training,
                           generator=seed_everything(args.seed), device=device, seed=args.seed,
                           **options)

    keep_target = holds_good_bundle(out)
    where = out
    try:
        with bundle_staging(bundle_writer(out) if args.out else store.write(name)) as staging:
            trained = train(splits, on_epoch=log_epoch)  # every choice made on validation
            final = refit_on_train_and_val(trained, splits)  # the model that ships
            evaluation = _evaluate(trained, final, splits, args, staging)
            evaluation.plots.append(final.plot_losses(staging / "plots" / "loss_curves.png",
                                                      args.task))
            curve = learning_curve(splits, trained,  # the chosen settings only, not the grid
                                   lambda part: train(part, trained.settings, progress=False),
                                   task=args.task, seed=args.seed)
            evaluation.plots.append(plot_learning_curve(curve, staging / "plots" /
                                                        "learning_curve.png"))
            report["learning_curve"] = curve.to_json()
            metrics = _metrics_document(final, evaluation, report, args, dataset_name(path))
            manifest = write_bundle(staging, trained=final, splits=splits,
                                    evaluation=evaluation, report=report, metrics=metrics,
                                    task=args.task, max_text_chars=args.max_text_chars)
            onnx_diff = _export_onnx(final, splits, staging) if args.onnx else None
            summary = _summary(evaluation, report, columns, manifest, onnx_diff, args, path,
                               out, staging)
            if not summary.passed and is_main_process():
                keep_failed(staging, out, "; ".join(summary.failed_checks),
                            keep_target=keep_target)
    except SetAside as aside:
        where = aside.path
        summary.extras["bundle"] = str(where)
    if summary.passed and not args.out and is_main_process() \
            and _may_become_current(store, path):
        store.set_current(name)
        state = ", now the current bundle"
    elif summary.passed:
        state = ""
    else:
        state = (", marked FAILED; the good bundle at " + str(out) + " is kept"
                 if where != out else ", marked FAILED")
        state += "; the current bundle is unchanged" if not args.out else ""
    print(f"bundle: {where} (model version {manifest['model_version']}{state})")
    _print_verdict(evaluation, curve, len(splits.test))
    return summary


def _summary(evaluation: Assessment, report: dict[str, Any], columns: Any,
             manifest: dict[str, Any], onnx_diff: float | None, args: argparse.Namespace,
             path: Path, out: Path, staging: Path) -> LessonSummary:
    summary = LessonSummary(
        STAGE, LESSON, "train", dataset=dataset_name(path),
        final_loss=evaluation.final_loss,
        loss_threshold=evaluation.baseline_loss,
        metrics=evaluation.summary_metrics,
        outputs=[str(out / plot.relative_to(staging)) for plot in evaluation.plots]
        + [str(out / "manifest.json")],
        extras={"data": _data_facts(report), "task": args.task, "bundle": str(out),
                "columns": columns.to_json(), "model_version": manifest["model_version"]},
    )
    for name, ok in report["checks"].items():
        summary.check(name, ok)
    if onnx_diff is not None:
        summary.metrics["onnx_max_abs_diff"] = onnx_diff
        summary.check(f"ONNX logits match PyTorch within {PARITY_TOLERANCE:g}",
                      onnx_diff <= PARITY_TOLERANCE)
    return summary


def _may_become_current(store: BundleStore, path: Path) -> bool:
    """A run on the shipped example never takes the pointer from a bundle the learner made."""
    if path.resolve() != DEFAULT_INPUT.resolve():
        return True
    try:
        current = store.load()
    except BundleError:
        return True  # no current bundle, or a broken one: nothing of the learner's to protect
    source = current.manifest.get("dataset", {}).get("source")
    return source is not None and Path(source).resolve() == DEFAULT_INPUT.resolve()


def _print_verdict(evaluation: Assessment, curve: LearningCurve, test_rows: int) -> None:
    """What the figures mean: the bar the model had to beat, how sure they are, more data?"""
    beaten = "beats" if evaluation.final_loss < evaluation.baseline_loss else "does NOT beat"
    print(f"verdict: test loss {evaluation.final_loss:.3f} {beaten} the knows-nothing baseline's "
          f"{evaluation.baseline_loss:.3f} (the loss bar)")
    metrics = evaluation.summary_metrics
    if "accuracy_ci95_low" in metrics:
        print(f"  accuracy {metrics['accuracy']:.3f}, 95% interval "
              f"{metrics['accuracy_ci95_low']:.3f}-{metrics['accuracy_ci95_high']:.3f} on "
              f"{test_rows} test rows")
    print(f"  learning curve: {curve.verdict}")


@contextmanager
def bundle_staging(writer: AbstractContextManager[Path]) -> Iterator[Path]:
    """Where this process builds the bundle: rank 0 in ``writer``'s folder, other ranks a bin.

    Under torchrun every process trains the same model and runs the same steps (they must meet
    at every collective); only rank 0's bundle is kept, so ``out`` is written once.
    """
    if is_main_process():
        with writer as staging:
            yield staging
    else:
        with tempfile.TemporaryDirectory(prefix="bundle-of-another-rank-") as scratch:
            yield Path(scratch)


def _evaluate(trained: Trained, final: Trained, splits: Splits, args: argparse.Namespace,
              staging: Path) -> Assessment:
    if args.task == "regression":
        return evaluate_regressor(final, splits, plots_dir=staging / "plots")
    positive = (choose_positive_label(list(splits.train.labels), trained.labels,
                                      args.positive_label)
                if len(trained.labels) == 2 else None)
    return evaluate_classifier(trained, splits, positive_label=positive,
                               target_recall=args.target_recall, plots_dir=staging / "plots",
                               final=final)


def _data_facts(report: dict[str, Any]) -> dict[str, Any]:
    """The top-level ``data`` of the JSON summary and of metrics.json."""
    return {"rows_in": report["rows_in"], "rows_kept": report["rows_kept"],
            "rows_dropped": report["rows_dropped"], "encoding": report["source"]["encoding"]}


def _metrics_document(trained: Trained, evaluation: Assessment, report: dict[str, Any],
                      args: argparse.Namespace, dataset: str) -> dict[str, Any]:
    return {
        "task": args.task, "dataset": dataset, "labels": list(trained.labels),
        "positive_label": evaluation.positive_label,
        "decision_threshold": evaluation.decision_threshold,
        "metrics": evaluation.summary_metrics,
        **evaluation.details,
        "training": trained.training_json(),
        "model_selection": trained.selection_json(),
        "data": _data_facts(report),
        "seed": args.seed, "quick": args.quick,
    }


def _export_onnx(trained: Trained, splits: Splits, root: Path) -> float:
    """Export to ``exports/model.onnx``, record it in the manifest, return the parity gap."""
    from stage3_text.classifier import encode_tensors
    from stage3_text.onnx_export import export_onnx, parity  # (imports onnx: only with --onnx)

    path = export_onnx(trained.model, root / EXPORTS_DIR / ONNX_FILE)
    words, ngrams = encode_tensors(trained.encoder, splits.test.texts)
    difference = parity(trained.model, path, words, ngrams)
    record_onnx_export(root, path, max_abs_diff=difference, parity_texts=len(splits.test))
    return difference


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
