"""What every stage-5b comparison measures: file size, compressed size, latency, agreement.

Torch-free (numpy and the standard library), so the same yardstick applies to PyTorch, ONNX
Runtime, ExecuTorch and anything else that turns ids into logits.
"""

from __future__ import annotations

import gzip
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def size_bytes(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (a Core ML ``.mlpackage`` is a folder)."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def gzip_bytes(path: Path) -> int:
    """Bytes of the file after gzip (level 9): what a download or an app store would ship.

    Zeros only pay off here: a dense file stores a 0.0 in four bytes like any other number.
    """
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0))


def latency_p50_ms(run: Callable[[int], object], repeats: int, warmup: int = 3) -> float:
    """Median wall time of ``run(i)`` in milliseconds, after ``warmup`` untimed calls.

    ``run`` gets the call's index so it can cycle through different inputs; the median (p50)
    ignores the odd slow call that a shared machine produces.
    """
    for i in range(warmup):
        run(i)
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def max_abs_diff(expected: np.ndarray, actual: np.ndarray) -> float:
    """The parity figure: the largest absolute difference between two logit matrices."""
    if expected.shape != actual.shape:
        raise ValueError(f"shapes differ: {expected.shape} vs {actual.shape}")
    return float(np.abs(np.asarray(expected, np.float64) - np.asarray(actual, np.float64)).max())


def agreement(reference: Sequence[int], other: Sequence[int]) -> float:
    """Share of inputs on which two models decide the same label."""
    reference, other = np.asarray(reference), np.asarray(other)
    if len(reference) == 0 or reference.shape != other.shape:
        raise ValueError("agreement needs two equally long, non-empty predictions")
    return float((reference == other).mean())


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; floats shown with 4 significant digits.

    A ``|`` inside a cell is escaped (``\\|``): unescaped, it would split the cell in two.
    """

    def cell(value: object) -> str:
        if value is None:
            return "–"
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
