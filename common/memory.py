"""Memory that large-data runs give back: freed heap pages returned to the operating system.

glibc's ``malloc`` serves a block from its heap unless it is larger than a threshold, and it
raises that threshold (up to 32 MB) each time such a block is freed. After the first few encoded
chunks of a large file, every chunk comes from the heap, and freed heap memory stays resident
while a live object sits above it: on a 500,000-row run hundreds of MB of freed chunks counted
in the peak. ``malloc_trim`` hands every whole free page back, so a phase that churned through
chunks (encoding a set, reading a file) ends by releasing them. Fixing the threshold low instead
would map every large block on its own, and training would pay for it on each step (an
embedding table's gradient is a few MB: 37% slower steps, measured).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def release_freed_memory() -> bool:
    """Return the C heap's free pages to the system; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        malloc_trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return False
    if malloc_trim is None:
        return False
    malloc_trim(0)  # 1 if memory was released, 0 if there was none to release
    return True
