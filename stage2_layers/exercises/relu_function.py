"""Exercise 2.1 — ReLU forward and backward as a ``torch.autograd.Function``.

Autograd knows the slope of every built-in operation. Teach it a new one: write ReLU yourself,
its forward (max(x, 0), element-wise) and its backward (the incoming gradient, passed on where
x > 0 and stopped where x ≤ 0). Save what the backward needs with ``ctx.save_for_backward``.

    class ReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x): ...
        @staticmethod
        def backward(ctx, grad_output): ...

Use it as ``ReLU.apply(x)``. Done when ``mlcourse check 2.1`` passes: the forward equals
``torch.relu`` and leaves ``x`` unchanged, the backward scales the incoming gradient by the
slope (1 where x > 0, else 0), and ``torch.autograd.gradcheck`` agrees with your backward.
"""

from __future__ import annotations

import torch


class ReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        raise NotImplementedError
