"""Exercise 1.3 — one step of gradient descent by hand, without an optimizer.

After ``loss.backward()``, every parameter ``p`` has its gradient in ``p.grad``. Write the step
``torch.optim.SGD`` takes: move each parameter against its gradient, ``p ← p − lr · p.grad``,
in place, and then clear the gradients so the next ``backward()`` starts from zero. Skip
parameters that have no gradient (``p.grad is None``).

    def sgd_step(parameters, lr) -> None

Done when ``mlcourse check 1.3`` passes: after your step the parameters equal those after
``torch.optim.SGD(..., lr).step()``, they are still the model's own parameters (updated in place,
still requiring gradients), their gradients are cleared, and parameters without a gradient are
left as they were.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def sgd_step(parameters: Iterable[torch.Tensor], lr: float) -> None:
    """p ← p − lr·p.grad for every parameter with a gradient, then clear the gradients."""
    raise NotImplementedError
