"""Memory that large-data runs give back: freed blocks returned to the operating system.

glibc's ``malloc`` serves a block from its heap unless it is larger than a threshold, and it
raises that threshold (up to 32 MB) each time such a block is freed. After the first few encoded
chunks of a large file every chunk, and every validation batch's ``[batch, time, dim]`` lookup
(tens of MB), comes from the heap, and freed heap memory stays resident while a live object sits
above it: on a 500,000-row run hundreds of MB of freed blocks counted in the peak. Two remedies,
both used by the stage 4 pipeline:

* :func:`return_large_blocks_to_os` fixes the threshold, so that blocks above it are mapped on
  their own and unmapped when freed. It stays above a training step's own blocks (an embedding
  table's gradient is a few MB): mapped anew on every step they made steps slower.
* :func:`release_freed_memory` (``malloc_trim``) hands the heap's whole free pages back, for the
  end of a phase that churned through chunks (encoding a set, reading a file).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's <malloc.h>
LARGE_BLOCK_BYTES = 8 * 1024 * 1024


def _glibc(function: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), function) if name else None
    except (OSError, AttributeError):  # musl and other C libraries lack these functions
        return None


def return_large_blocks_to_os(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Map blocks above ``threshold`` bytes on their own; False where there is no glibc."""
    mallopt = _glibc("mallopt")
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, threshold) == 1)


def release_freed_memory() -> bool:
    """Return the C heap's whole free pages to the system; False where there is no glibc."""
    malloc_trim = _glibc("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim(0)  # 1 if memory was released, 0 if there was none to release
    return True
