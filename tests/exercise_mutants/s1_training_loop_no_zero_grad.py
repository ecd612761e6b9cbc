"""A plausible wrong answer: it never zeroes the gradients.

Mutated from stage1_basics/solutions/training_loop.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


def train(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
          optimizer: torch.optim.Optimizer,
          batches: Iterable[tuple[torch.Tensor, torch.Tensor]], epochs: int) -> list[float]:
    """Train ``model`` for ``epochs`` passes over ``batches``; the mean loss of each epoch."""
    epoch_losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in batches:
            loss = loss_fn(model(x), y)  # forward, then the loss
            loss.backward()  # d(loss)/d(weight) into every .grad
            optimizer.step()  # each weight moves against its gradient
            total += loss.item() * len(y)
            count += len(y)
        epoch_losses.append(total / count)
    return epoch_losses
