"""Exercise 5b.2, a reference answer (the lesson uses ``torch.nn.utils.prune.l1_unstructured``)."""

from __future__ import annotations

import torch


def prune_by_magnitude(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """A copy of ``weight`` with its ``round(sparsity × numel)`` smallest-magnitude entries at 0."""
    count = round(sparsity * weight.numel())
    pruned = weight.detach().clone()
    if count:
        smallest = weight.detach().abs().flatten().argsort()[:count]  # exactly `count`, ties too
        pruned.view(-1)[smallest] = 0
    return pruned
