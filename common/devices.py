"""Device selection: ``auto`` prefers CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from common.distributed import is_distributed, local_rank
from common.errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """Resolve a ``--device`` value, failing clearly when the asked-for device is absent."""
    if name == "auto":
        if torch.cuda.is_available():
            return _this_process_gpu()
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but no CUDA device is available")
    if name == "mps" and not mps_available():
        raise UsageError("--device mps was asked for, but Apple's MPS backend is not available")
    if name not in DEVICE_CHOICES:
        raise UsageError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    return _this_process_gpu() if name == "cuda" else torch.device(name)


def _this_process_gpu() -> torch.device:
    """``cuda``; under torchrun each process on a machine takes its own GPU, ``LOCAL_RANK``."""
    return torch.device("cuda", local_rank()) if is_distributed() else torch.device("cuda")
