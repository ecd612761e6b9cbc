"""How the pipeline's time and memory grow with the rows: generated inboxes of 50k to 500k rows.

    python -m stage4_own_data.bench_scale                 # 50k, 100k, 200k, 500k rows
    python -m stage4_own_data.bench_scale --sizes 20000,40000

Each size is a file from :mod:`stage4_own_data.generate_messages` (made once, kept in
``--out``), run through ``python -m stage4_own_data.pipeline`` in a process of its own, so the
peak memory (resident set size, from the kernel's accounting of that process) belongs to that
size alone. The table shows seconds, peak MB and the growth per 100,000 rows between sizes: a
cost that grows linearly has a steady growth. Every run must reproduce the planted bad rows
exactly, and the largest within :data:`MAX_SECONDS` and :data:`MAX_RSS_MB` when it has at least
:data:`BAR_ROWS` rows. The machine's load is shown beside each timing: other work on the same
cores slows the runs. PyTorch runs one thread (see :func:`child_environment`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from common.errors import UsageError
from common.lesson import lesson_main, lesson_parser
from common.paths import runs_dir
from common.summary import LessonSummary
from stage4_own_data.generate_messages import expected_path, generate

STAGE, LESSON = "stage4_own_data", "bench_scale"
DEFAULT_SIZES = (50_000, 100_000, 200_000, 500_000)
QUICK_SIZES = (2_000, 4_000)
BAR_ROWS = 500_000
MAX_SECONDS = 600.0
MAX_RSS_MB = 2048.0


@dataclass(frozen=True)
class Point:
    rows: int
    seconds: float
    peak_rss_mb: float
    load: float  # the 1-minute load average when the run started
    accounting_exact: bool
    exit_code: int


def sizes(text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(part.replace("_", "")) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes takes row counts like 50000,100000, "
                                         f"not {text!r}") from None
    if not values or values[0] < 1_000:
        raise argparse.ArgumentTypeError("every size must be at least 1000 rows")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False,
                           out_help="folder for the generated files and the bundles "
                                    f"(default: runs/{STAGE}/{LESSON}/)")
    parser.add_argument("--sizes", type=sizes, default=DEFAULT_SIZES,
                        help="row counts, comma-separated (default: 50000,100000,200000,500000)")
    return parser


def measure(path: Path, out: Path, *, seed: int, quick: bool) -> Point:
    """One pipeline run in a child process: wall time, the child's peak RSS, the accounting."""
    command = [sys.executable, "-m", "stage4_own_data.pipeline", "--input", str(path),
               "--out", str(out), "--seed", str(seed), "--json", *(["--quick"] if quick else [])]
    load = os.getloadavg()[0]
    log = out.with_suffix(".log")
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink, \
            log.with_suffix(".stderr.log").open("w", encoding="utf-8") as errors:
        child = subprocess.Popen(command, stdout=sink, stderr=errors, env=child_environment())
        _, status, usage = os.wait4(child.pid, 0)  # the child's own peak RSS, not the bench's
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code  # reaped here: Popen must not wait for it again
    peak = usage.ru_maxrss / 1024  # kilobytes on Linux
    stdout = log.read_text(encoding="utf-8", errors="replace")
    summary = _last_json(stdout)
    expected = json.loads(expected_path(path).read_text(encoding="utf-8"))
    exact = summary is not None and _accounting_matches(summary["data"], expected)
    if summary is None:
        print(f"  the run of {path.name} failed (exit {code}), see {log}: "
              f"{stdout.strip()[-300:]}")
    return Point(_rows(expected), seconds, peak, load, exact, code)


def child_environment() -> dict[str, str]:
    """The runs' environment: one thread for PyTorch unless ``OMP_NUM_THREADS`` says otherwise.

    On this shared 2-core machine two threads that compete with other work for the cores wait
    on each other: a training step took 115 ms with two threads and 13 ms with one.
    """
    return {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def _rows(expected: dict) -> int:
    return int(expected["rows_in"])


def _accounting_matches(data: dict, expected: dict) -> bool:
    """Every row in, every planted bad row counted under its reason, nothing else dropped."""
    dropped = {reason: n for reason, n in data["rows_dropped"].items() if n}
    planted = {reason: n for reason, n in expected["rows_dropped"].items() if n}
    return (data["rows_in"] == expected["rows_in"] and dropped == planted
            and data["rows_kept"] == expected["rows_in"] - sum(planted.values()))


def _last_json(stdout: str) -> dict | None:
    lines = stdout.strip().splitlines()
    try:
        return json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None


def growth_rows(points: list[Point]) -> list[str]:
    """The table: each size, and the growth per 100,000 rows from the size before it."""
    lines = [f"{'rows':>9} {'seconds':>8} {'peak RSS MB':>12} {'s /100k':>8} {'MB /100k':>9} "
             f"{'load':>5}  accounting"]
    previous = None
    for point in points:
        if previous is None:
            steps = f"{'':>8} {'':>9}"
        else:
            scale = 100_000 / (point.rows - previous.rows)
            steps = (f"{(point.seconds - previous.seconds) * scale:>8.1f} "
                     f"{(point.peak_rss_mb - previous.peak_rss_mb) * scale:>9.1f}")
        lines.append(f"{point.rows:>9,} {point.seconds:>8.1f} {point.peak_rss_mb:>12.0f} {steps} "
                     f"{point.load:>5.2f}  {'exact' if point.accounting_exact else 'WRONG'}")
        previous = point
    return lines


def run(args: argparse.Namespace) -> LessonSummary:
    out = runs_dir(STAGE, LESSON, args.out)
    chosen = QUICK_SIZES if args.quick else args.sizes
    points = []
    for rows in chosen:
        path = out / f"messages_{rows}.csv"
        if not (path.exists() and expected_path(path).exists()):
            generate(path, rows, seed=args.seed)
        print(f"{rows:,} rows: running the pipeline (load {os.getloadavg()[0]:.2f}, "
              f"OMP_NUM_THREADS={child_environment()['OMP_NUM_THREADS']}) ...", flush=True)
        points.append(measure(path, out / f"bundle_{rows}", seed=args.seed, quick=args.quick))
    if not points:
        raise UsageError("no sizes to measure")
    table = growth_rows(points)
    print("\n".join(table))
    summary = LessonSummary(STAGE, LESSON, "bench", metrics={
        f"seconds_{p.rows}": p.seconds for p in points} | {
        f"peak_rss_mb_{p.rows}": p.peak_rss_mb for p in points},
        extras={"points": [asdict(p) for p in points], "table": table})
    for point in points:
        summary.check(f"{point.rows:,} rows: the pipeline exits 0", point.exit_code == 0)
        summary.check(f"{point.rows:,} rows: exact row accounting", point.accounting_exact)
        if point.rows >= BAR_ROWS:
            summary.check(f"{point.rows:,} rows in at most {MAX_SECONDS:.0f} s",
                          point.seconds <= MAX_SECONDS)
            summary.check(f"{point.rows:,} rows with peak RSS at most {MAX_RSS_MB:.0f} MB",
                          point.peak_rss_mb <= MAX_RSS_MB)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
