"""Memory that large-data runs give back: big freed blocks returned to the operating system.

glibc's ``malloc`` serves a block from its heap unless it is larger than a threshold, and it
raises that threshold (up to 32 MB) each time such a block is freed. After the first few
encoded chunks of a large file, every chunk of up to 32 MB comes from the heap, and a heap
whose top is pinned by one live object cannot shrink: the freed chunks stay resident. On a
500,000-row run that kept hundreds of MB of freed memory counted in the peak. Fixing the
threshold stops the drift: larger blocks are mapped on their own and unmapped when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's <malloc.h>
# Blocks above this get their own mapping: a data set's chunks (megabytes) do, a training
# batch's small tensors and Python's objects stay in the heap, where reuse is cheap.
LARGE_BLOCK_BYTES = 4 * 1024 * 1024


def return_large_blocks_to_os(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, threshold) == 1)
