"""Exercise 5b.2 — magnitude pruning: zero the smallest weights of a tensor.

Pruning assumes that weights near zero matter least. Given a weight tensor and a ``sparsity``
between 0 and 1, return a *new* tensor in which the ``round(sparsity × numel)`` entries of
smallest absolute value are 0 and every other entry is unchanged. Negative weights count by
their size: −0.9 is a large weight.

    def prune_by_magnitude(weight, sparsity) -> torch.Tensor

Done when ``mlcourse check 5b.2`` passes: exactly ``round(sparsity × numel)`` entries are zeroed
for several sparsities (0 and 1 included), every zeroed entry is no larger in magnitude than
every kept one, the kept entries keep their values, and ``weight`` itself is not modified.
"""

from __future__ import annotations

import torch


def prune_by_magnitude(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """A copy of ``weight`` with its ``round(sparsity × numel)`` smallest-magnitude entries at 0."""
    raise NotImplementedError
