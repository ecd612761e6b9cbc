"""``common.memory``: freed chunks leave the resident memory, as they do not on their own."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest

# Chunks of 8 MB, each followed by a small long-lived object (as a data set's chunks are by
# Python objects), all freed but the small objects: what stays resident afterwards?
CHURN = """
import sys
import numpy as np
from common.memory import release_freed_memory, return_large_blocks_to_os

def resident_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

if sys.argv[1] == "mapped":
    assert return_large_blocks_to_os(4 << 20)
np.ones(20 << 20, dtype=np.uint8)  # freed at once: a dynamic threshold rises past 8 MB
before = resident_mb()
chunks, keep = [], []
for _ in range(40):
    chunks.append(np.ones(8 << 20, dtype=np.uint8))
    keep.append(bytearray(64 << 10))
del chunks
if sys.argv[1] == "released":
    assert release_freed_memory()
print(resident_mb() - before)
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux")
                           or ctypes.util.find_library("c") is None,
                           reason="mallopt and malloc_trim are glibc's, on Linux")


def retained_mb(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[1])
    return float(result.stdout)


@glibc
def test_freed_chunks_stay_resident_until_released() -> None:
    assert retained_mb("kept") > 200  # the 320 MB of freed chunks, kept by the heap
    assert retained_mb("released") < 40  # only the small objects (2.5 MB) and the allocator's


@glibc
def test_blocks_above_a_fixed_threshold_are_unmapped_when_freed() -> None:
    assert retained_mb("mapped") < 40
