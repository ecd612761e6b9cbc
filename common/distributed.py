"""One training spread over several processes: what ``torchrun`` tells each one, and the set-up.

``torchrun --nproc-per-node N -m stageN_x.lesson`` starts N copies of the same script and gives
each, through its environment, ``WORLD_SIZE`` (N processes in all, over every machine), ``RANK``
(this one's number, 0 … N-1), ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` (the same on this machine).
Without ``torchrun`` none of them is set: one process, rank 0, and nothing here does anything.

:func:`common.training.fit` calls :func:`setup` and uses these answers; a lesson needs only
:func:`is_main_process` to let one process print, plot and write. Reading the environment needs no
torch, so a lesson summary can record :func:`world_size` cheaply.
"""

from __future__ import annotations

import atexit
import os
from typing import TYPE_CHECKING, Any

from common.errors import UsageError

if TYPE_CHECKING:
    import torch

# torchrun sets OMP_NUM_THREADS to this when it is unset, to keep N processes from oversubscribing
# the cores; on a CPU-only run that leaves most cores idle.
TORCHRUN_DEFAULT_THREADS = "1"


def _env_int(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} in the environment is not a whole number") from None
    if value < minimum:
        raise UsageError(f"{name}={value} in the environment must be at least {minimum}")
    return value


def world_size() -> int:
    """How many processes train together (1 without torchrun)."""
    return _env_int("WORLD_SIZE", 1, 1)


def rank() -> int:
    """This process's number among all of them, 0 … world_size-1."""
    return _env_int("RANK", 0, 0)


def local_rank() -> int:
    """This process's number on its own machine: which GPU it takes."""
    return _env_int("LOCAL_RANK", 0, 0)


def local_world_size() -> int:
    """How many of the processes run on this machine (they share its cores)."""
    return _env_int("LOCAL_WORLD_SIZE", world_size(), 1)


def is_distributed() -> bool:
    return world_size() > 1


def is_main_process() -> bool:
    """Rank 0: the one process that prints, plots and writes files."""
    return rank() == 0


def available_cores() -> int:
    """Cores this process may run on (a container or ``taskset`` may allow fewer than exist)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_per_process() -> int:
    """The machine's cores shared evenly among the processes on it.

    A value of ``OMP_NUM_THREADS`` the user chose is kept; torchrun's own default of 1 is not.
    """
    chosen = os.environ.get("OMP_NUM_THREADS")
    if chosen and chosen != TORCHRUN_DEFAULT_THREADS:
        return _env_int("OMP_NUM_THREADS", 1, 1)
    return max(1, available_cores() // local_world_size())


def setup(device: torch.device) -> torch.device:
    """Join the process group once (gloo on the CPU, NCCL on CUDA); return the device to train on.

    With one process this changes nothing and returns ``device``. Safe to call again: the second
    call finds the group already there. The group is closed when the process exits.
    """
    import torch
    import torch.distributed as dist

    if not is_distributed():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", local_rank() if device.index is None else device.index)
        torch.cuda.set_device(device)
    elif device.type == "cpu":
        torch.set_num_threads(threads_per_process())
    else:
        raise UsageError(f"training on several processes needs cpu or cuda, not {device.type} "
                         "(run with --device cpu)")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        atexit.register(dist.destroy_process_group)
    return device


def all_gather(value: Any) -> list[Any]:
    """Every process's ``value``, in rank order, on every process (``[value]`` with one)."""
    if not is_distributed():
        return [value]
    import torch.distributed as dist

    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, value)
    return gathered
