"""A plausible wrong answer: it never clears the gradients.

Mutated from stage1_basics/solutions/sgd_step.py.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def sgd_step(parameters: Iterable[torch.Tensor], lr: float) -> None:
    """p ← p − lr·p.grad for every parameter with a gradient, then clear the gradients."""
    with torch.no_grad():  # an update is not part of the model: autograd must not record it
        for parameter in parameters:
            if parameter.grad is None:
                continue
            parameter -= lr * parameter.grad  # in place: the model keeps the same tensor
