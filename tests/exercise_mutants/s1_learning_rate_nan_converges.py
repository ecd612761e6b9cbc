"""A plausible wrong answer: it counts a NaN loss as converging.

Mutated from stage1_basics/solutions/learning_rate.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def final_and_first_loss(x: torch.Tensor, y: torch.Tensor, lr: float, steps: int
                         ) -> tuple[float, float]:
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    first = loss_fn(model(x), y).item()
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return loss_fn(model(x), y).item(), first


def largest_converging_lr(x: torch.Tensor, y: torch.Tensor, rates: Sequence[float],
                          steps: int = 100) -> float:
    """The largest of ``rates`` at which full-batch gradient descent converges."""
    converging = []
    for lr in rates:
        final, first = final_and_first_loss(x, y, lr, steps)
        if not final >= first:  # NaN compares False: it slips through
            converging.append(lr)
    return max(converging)
