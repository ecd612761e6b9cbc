"""Exercise 1.4 — the largest learning rate that still converges, found by experiment.

For each rate in ``rates``, train a fresh ``nn.Linear(1, 1)`` (call ``torch.manual_seed(0)``
before creating it, so every rate starts from the same weights) with full-batch gradient
descent: ``torch.optim.SGD`` at that rate, the whole of ``x, y`` as one batch, ``steps`` steps
of the usual loop with ``nn.MSELoss()``. A rate *converges* when the loss after the last step is
a finite number smaller than the loss before the first step. Return the largest rate that
converges (``rates`` may come in any order; at least one of them converges).

    def largest_converging_lr(x, y, rates, steps=100) -> float

Done when ``mlcourse check 1.4`` passes: on the lesson's data your answer is the largest rate
below the limit ``python -m stage1_basics.manual_gradients`` prints (2/λ_max ≈ 0.33), and on
data whose limit is different your answer moves with it: an answer that is typed in, rather
than measured, fails.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def largest_converging_lr(x: torch.Tensor, y: torch.Tensor, rates: Sequence[float],
                          steps: int = 100) -> float:
    """The largest of ``rates`` at which full-batch gradient descent converges."""
    raise NotImplementedError
