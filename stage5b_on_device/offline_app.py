"""The on-device classifier: a model directory in, labels out — no PyTorch, no network.

It needs only onnxruntime, numpy, the standard library and the files of one model directory
(``python -m stage5b_on_device.export_mobile --out DIR`` writes it). The code path is
:mod:`common.bundle.runtime`, the same one the REST service (stage 5a) runs, so the app and the
service cannot disagree. Texts come from the arguments, else from piped stdin (one per line), else
from an interactive prompt::

    python -m stage5b_on_device.offline_app --model-dir runs/stage5b_on_device/export_mobile \\
        "WIN a FREE prize, call now" "See you at 7?"
    echo "I was charged twice" | python -m stage5b_on_device.offline_app --model-dir DIR --stats

``--stats`` prints the cold start — imports, model load and spec check from the start of this
module, plus the first prediction — and the peak resident memory of the process.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the runtime's imports: they are part of the cold start

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

from common.bundle.errors import BundleError  # noqa: E402
from common.bundle.runtime import Prediction, TextClassifierRuntime  # noqa: E402
from common.bundle.textprep import BLANK_MESSAGE, has_content  # noqa: E402
from common.errors import EXIT_OK, EXIT_USAGE, UsageError  # noqa: E402
from common.lesson import HelpFormatter, LessonArgumentParser  # noqa: E402
from stage5b_on_device.model_dir import MODELS, load_runtime  # noqa: E402

MAX_COLD_START_S = 0.5
MAX_PEAK_RSS_MB = 100.0


def build_parser() -> argparse.ArgumentParser:
    parser = LessonArgumentParser(
        prog="python -m stage5b_on_device.offline_app", description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True,
                        help="offline model directory (from export_mobile --out)")
    parser.add_argument("--precision", choices=tuple(MODELS), default="int8",
                        help="which of the directory's models to run")
    parser.add_argument("--stats", action="store_true",
                        help="print cold start time and peak memory at the end")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per text instead of a table line")
    parser.add_argument("texts", nargs="*", metavar="TEXT",
                        help="texts to classify (default: lines from stdin, or a prompt)")
    return parser


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the high-water mark of this program's own memory.
    (``ru_maxrss`` would do elsewhere, but on Linux it carries over the parent's peak through
    fork + exec: started from a big process, the app would be charged for it.) macOS reports
    ``ru_maxrss`` in bytes.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def show(text: str, prediction: Prediction, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"text": text, "label": prediction.label,
                          "probability": round(prediction.probability, 6),
                          "probabilities": prediction.probabilities}, ensure_ascii=False))
    else:
        print(f"{prediction.label:<16} {prediction.probability:6.3f}  {text}")


def prompt_lines() -> Iterator[str]:
    """Texts typed at a prompt, until an empty line or end of input (Ctrl-D)."""
    while True:
        try:
            line = input("text> ")
        except EOFError:
            return
        if not has_content(line):
            return
        yield line


def texts_from(args: argparse.Namespace) -> Iterable[str]:
    """The texts to classify. One rule for empty text (``has_content``): a text argument with
    nothing to read is refused; in piped input such a line counts as a blank line and is skipped."""
    if args.texts:
        blank = [i for i, text in enumerate(args.texts, start=1) if not has_content(text)]
        if blank:
            raise UsageError(f"text {blank[0]} of {len(args.texts)}: {BLANK_MESSAGE}")
        return args.texts
    if not sys.stdin.isatty():
        return (line.rstrip("\n") for line in sys.stdin if has_content(line))
    print("offline classifier: type a text and press Enter (empty line to quit)")
    return prompt_lines()


def classify(runtime: TextClassifierRuntime, texts: Iterable[str], as_json: bool) -> float:
    """Classify and print each text as it comes; returns the first prediction's seconds."""
    first = 0.0
    for count, text in enumerate(texts):
        started = time.perf_counter()
        prediction = runtime.predict([text])[0]
        if count == 0:
            first = time.perf_counter() - started
        show(text, prediction, as_json)
    return first


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        texts = texts_from(args)
        runtime = load_runtime(args.model_dir, args.precision)
    except (UsageError, BundleError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    ready = time.perf_counter() - STARTED
    cold_start = ready + classify(runtime, texts, args.json)  # typing time excluded
    if args.stats:
        stats = {"cold_start_s": round(cold_start, 4), "peak_rss_mb": round(peak_rss_mb(), 1),
                 "cold_start_bar_s": MAX_COLD_START_S, "peak_rss_bar_mb": MAX_PEAK_RSS_MB}
        if args.json:
            print(json.dumps({"stats": stats}))
        else:
            print(f"cold start {stats['cold_start_s']:.3f} s (bar {MAX_COLD_START_S} s), "
                  f"peak memory {stats['peak_rss_mb']:.1f} MB RSS (bar {MAX_PEAK_RSS_MB:g} MB)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
