"""``common.memory``: large freed blocks leave the resident memory, as they did not before."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

# Chunks of 8 MB, each followed by a small long-lived object (as a data set's chunks are by
# Python objects), all freed but the small objects: what stays resident afterwards?
CHURN = """
import sys
import numpy as np
from common.memory import return_large_blocks_to_os

def resident_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

if sys.argv[1] == "fixed":
    assert return_large_blocks_to_os()
np.ones(20 << 20, dtype=np.uint8)  # freed at once: glibc raises its threshold past 8 MB
before = resident_mb()
chunks, keep = [], []
for _ in range(40):
    chunks.append(np.ones(8 << 20, dtype=np.uint8))
    keep.append(bytearray(64 << 10))
del chunks
print(resident_mb() - before)
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux")
                           or ctypes.util.find_library("c") is None,
                           reason="glibc's mallopt exists only on Linux")


def retained_mb(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True,
                            check=True)
    return float(result.stdout)


@glibc
def test_freed_chunks_stay_resident_unless_the_threshold_is_fixed() -> None:
    assert retained_mb("dynamic") > 200  # the 320 MB of freed chunks, kept by the heap
    assert retained_mb("fixed") < 40  # only the small objects (2.5 MB) and the allocator's own
