"""Exercise 1.1 — the training loop: forward, loss, zero_grad, backward, step.

Write ``train`` without looking at the lesson: for each of ``epochs`` passes, for every batch
``(x, y)`` in ``batches``, run the model forward, compute the loss, clear the gradients left by
the step before, back-propagate, and let the optimizer take its step. Return the mean loss of
each epoch, per example (a batch of 4 counts four times as much as a batch of 1).

    def train(model, loss_fn, optimizer, batches, epochs) -> list[float]

Done when ``mlcourse check 1.1`` passes. The check instruments the optimizer and the weights:
it verifies that every ``backward()`` starts from cleared gradients, that ``step()`` follows
each ``backward()`` (once per batch), that you return one mean loss per epoch, and that the
lesson's model learns y = 2·x − 1 to its loss bar (held-out MSE ≤ 0.3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


def train(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
          optimizer: torch.optim.Optimizer,
          batches: Iterable[tuple[torch.Tensor, torch.Tensor]], epochs: int) -> list[float]:
    """Train ``model`` for ``epochs`` passes over ``batches``; the mean loss of each epoch."""
    raise NotImplementedError
