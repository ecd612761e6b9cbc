"""A plausible wrong answer: it ranks by value, so large negative weights go first.

Mutated from stage5b_on_device/solutions/magnitude_pruning.py.
"""

from __future__ import annotations

import torch


def prune_by_magnitude(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """A copy of ``weight`` with its ``round(sparsity × numel)`` smallest-magnitude entries at 0."""
    count = round(sparsity * weight.numel())
    pruned = weight.detach().clone()
    if count:
        smallest = weight.detach().flatten().argsort()[:count]  # exactly `count`, ties too
        pruned.view(-1)[smallest] = 0
    return pruned
