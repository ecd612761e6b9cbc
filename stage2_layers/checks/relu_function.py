"""Checks for exercise 2.1: a hand-written ReLU against ``torch.relu`` and ``gradcheck``."""

from __future__ import annotations

from types import ModuleType

import torch
from torch.autograd.gradcheck import GradcheckError

from common.checks import check, expect


def sample(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    values = torch.randn(6, 5, generator=torch.Generator().manual_seed(0), dtype=dtype)
    values[0, :3] = torch.tensor([0.0, -0.0, 1e-3], dtype=dtype)
    return values


@check("the forward equals torch.relu and leaves x unchanged",
       hint="return x.clamp(min=0) (a new tensor); x.clamp_(...) or x[x < 0] = 0 would change "
            "the caller's tensor")
def forward_equals_relu(learner: ModuleType) -> None:
    x = sample()
    before = x.clone()
    out = learner.ReLU.apply(x)
    expect(isinstance(out, torch.Tensor) and out.shape == x.shape,
           expected=f"a tensor of shape {tuple(x.shape)}", seen=repr(out)[:80])
    expect(torch.equal(out, torch.relu(before)), expected="torch.relu(x), element for element",
           seen=f"a largest difference of {(out - torch.relu(before)).abs().max().item():.3g}")
    expect(torch.equal(x, before), expected="x unchanged after the forward",
           seen="x was modified in place")


@check("the backward passes the gradient where x > 0 and stops it elsewhere",
       hint="backward returns grad_output * (x > 0): the incoming gradient times ReLU's slope")
def backward_masks_gradient(learner: ModuleType) -> None:
    x = sample().requires_grad_()
    weights = torch.arange(1.0, 31.0).reshape(6, 5)  # an upstream gradient that is not all ones
    (learner.ReLU.apply(x) * weights).sum().backward()
    expected = weights * (x.detach() > 0)
    expect(x.grad is not None, expected="a gradient in x.grad", seen="None")
    expect(torch.allclose(x.grad, expected), expected="grad_output × (x > 0)",
           seen=f"a largest difference of {(x.grad - expected).abs().max().item():.3g}")


@check("torch.autograd.gradcheck agrees with the backward (float64)",
       hint="the backward must return one gradient per forward input, shaped like x")
def gradcheck_agrees(learner: ModuleType) -> None:
    x = sample(torch.float64)
    x = torch.where(x.abs() < 0.1, torch.full_like(x, 0.5), x).requires_grad_()  # away from 0
    try:
        ok = torch.autograd.gradcheck(learner.ReLU.apply, (x,), eps=1e-6, atol=1e-5)
    except GradcheckError as error:
        expect(False, expected="numerical and analytical gradients to agree",
               seen=str(error).splitlines()[0])
    expect(ok, expected="gradcheck to pass", seen="it did not")
