"""The shared skeleton of every lesson script: flags, error handling, timing and the summary.

Each lesson module defines ``build_parser()`` and ``run(args) -> LessonSummary`` and ends with::

    def main(argv: list[str] | None = None) -> int:
        return lesson_main(build_parser(), run, argv)

so ``python -m stageN_x.lesson`` and ``mlcourse run N`` behave the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from common import distributed
from common.bundle.errors import BundleError
from common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, NonFiniteLossError, UsageError
from common.registry import BUNDLE_STORE_DIR
from common.summary import LessonSummary

RunFn = Callable[[argparse.Namespace], LessonSummary]


class LessonArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line on stderr (and exit 2) instead of the usage dump,
    and a flag must be spelt in full: ``--text-colum`` is refused, not read as ``--text-column``
    (a prefix that matches today may match two flags, or the wrong one, tomorrow)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a flag's default in ``--help``, unless its text already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False \
                or action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value

    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)
MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit; torch's are wider, so this bounds both


def seed_value(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1 (what every library here accepts)."""
    value = non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {value}")
    return value


def dropout_rate(text: str) -> float:
    """A share of units to zero: 0 (none) up to, but not including, 1 (all)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1), got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (a cost, a rate that may be zero)."""
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def output_folder(text: str) -> Path:
    """``--out``: a folder that exists or can be made, and that this program may write into.

    Checked while parsing, so a mistyped path fails in a second rather than after training;
    :func:`common.paths.writable_dir` checks again when the lesson writes.
    """
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    existing = next(parent for parent in (path, *path.absolute().parents) if parent.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is below {existing}, which is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{existing} is not writable here")
    return path


def probability(text: str) -> float:
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
    return value


def lesson_parser(
    module: str,
    description: str,
    *,
    epochs: int | None = None,
    device_flag: bool = True,
    out_help: str = "output folder (default: runs/<stage>/<lesson>/ here)",
) -> LessonArgumentParser:
    """A parser with the flags every lesson shares (GUIDE §2); lessons add their own.

    ``epochs`` is the default of ``--epochs`` (omit it for lessons that do not train for epochs);
    ``device_flag=False`` leaves out ``--device`` for lessons that never touch an accelerator;
    ``out_help`` rewords ``--out`` for lessons whose output is not a runs folder (a bundle).
    """
    parser = LessonArgumentParser(
        prog=f"python -m {module}",
        description=description,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode: tiny data and few epochs, finishes in seconds")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed, 0 to 2**32-1 (same seed, same losses)")
    if epochs is not None:
        parser.add_argument("--epochs", type=positive_int, default=epochs,
                            help="passes over the training data")
    if device_flag:
        parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                            help="where to train; auto prefers cuda, then mps, then cpu")
    parser.add_argument("--out", type=output_folder, default=None, help=out_help)
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON summary line on stdout")
    return parser


def add_bundle_flag(parser: argparse.ArgumentParser, what: str = "model bundle folder") -> None:
    """``--bundle DIR``; without it, the current bundle (resolve with
    :func:`common.paths.chosen_bundle`)."""
    parser.add_argument("--bundle", type=Path, default=None,
                        help=f"{what} (default: the current bundle in {BUNDLE_STORE_DIR}/)")


def execute(run: RunFn, args: argparse.Namespace) -> LessonSummary:
    """Run one lesson and time it."""
    started = time.perf_counter()
    summary = run(args)
    summary.seconds = time.perf_counter() - started
    summary.world_size = distributed.world_size()
    return summary


@contextlib.contextmanager
def stdout_of_main_process_only() -> Iterator[None]:
    """Under torchrun, silence the standard output of every process but rank 0.

    Each process runs the whole lesson; one report (and one ``--json`` line) is enough. Errors
    still reach stderr from whichever process meets them.
    """
    if distributed.is_main_process():
        yield
        return
    with Path(os.devnull).open("w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def print_summary(summary: LessonSummary) -> None:
    verdict = "PASSED" if summary.passed else "FAILED"
    print(f"\n== {summary.stage}.{summary.lesson}: {verdict} in {summary.seconds:.1f} s"
          + (f" on {summary.world_size} processes" if summary.world_size > 1 else "")
          + (f" (dataset: {summary.dataset})" if summary.dataset else ""))
    if summary.final_loss is not None:
        print(f"   {summary.loss_name} {summary.final_loss:.4g}"
              + (f" (loss bar {summary.loss_threshold:.4g})" if summary.loss_threshold else ""))
    for name, value in summary.metrics.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"   {name:<28} {shown}")
    for check, ok in summary.checks.items():
        print(f"   [{'ok' if ok else 'FAIL'}] {check}")
    for path in summary.outputs:
        print(f"   wrote {path}")


def record_progress(summary: LessonSummary) -> None:
    """Count the run in the learner's progress (``mlcourse status``); never fail the lesson."""
    from common.progress import record_lesson

    try:
        record_lesson(summary.stage, summary.lesson, summary.passed)
    except OSError as error:
        print(f"warning: progress not saved: {error}", file=sys.stderr)


def fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def lesson_main(parser: argparse.ArgumentParser, run: RunFn, argv: list[str] | None) -> int:
    """Parse flags, run the lesson, report; map user errors to exit 2 and failures to 1."""
    args = parser.parse_args(argv)
    try:
        with stdout_of_main_process_only():
            summary = execute(run, args)
            print_summary(summary)
            if args.json:
                print(json.dumps(summary.to_json(), ensure_ascii=False))
        if distributed.is_main_process():
            record_progress(summary)
    except (UsageError, BundleError) as error:
        return fail(str(error), EXIT_USAGE)
    except NonFiniteLossError as error:
        return fail(str(error), EXIT_FAILED)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_FAILED)
    return EXIT_OK if summary.passed else EXIT_FAILED
