"""A plausible wrong answer: it passes the gradient through everywhere.

Mutated from stage2_layers/solutions/relu_function.py.
"""

from __future__ import annotations

import torch


class ReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return x.clamp(min=0)  # a new tensor: x itself is left alone

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad_output + 0 * x
