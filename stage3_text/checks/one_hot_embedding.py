"""Checks for exercise 3.2: one-hot × W against ``F.embedding``, values and gradients."""

from __future__ import annotations

from types import ModuleType

import torch
from torch.nn import functional as F

from common.checks import check, expect

VOCAB, DIM = 12, 5


def weight() -> torch.Tensor:
    return torch.randn(VOCAB, DIM, generator=torch.Generator().manual_seed(0))


def compare(learner: ModuleType, ids: torch.Tensor) -> None:
    out = learner.one_hot_lookup(ids, weight())
    expected = F.embedding(ids, weight())
    expect(isinstance(out, torch.Tensor) and out.shape == expected.shape,
           expected=f"shape {tuple(expected.shape)} for ids of shape {tuple(ids.shape)}",
           seen=f"{tuple(getattr(out, 'shape', ()))}")
    expect(torch.allclose(out, expected, atol=1e-6), expected="F.embedding(ids, weight)",
           seen=f"a largest difference of {(out - expected).abs().max().item():.3g}")


@check("equals F.embedding for a batch [batch, time] of ids",
       hint="F.one_hot(ids, num_classes=weight.shape[0]).float() @ weight")
def batch_of_ids(learner: ModuleType) -> None:
    compare(learner, torch.tensor([[0, 3, 11], [7, 7, 2]]))


@check("works when the batch never uses the last rows of weight",
       hint="give one_hot num_classes=weight.shape[0]; without it, one_hot makes only "
            "ids.max() + 1 columns")
def unused_rows(learner: ModuleType) -> None:
    compare(learner, torch.tensor([1, 4, 2, 4]))


@check("the gradient reaching weight equals the embedding's",
       hint="keep the computation differentiable in weight: a float one-hot matrix times weight")
def gradients(learner: ModuleType) -> None:
    ids = torch.tensor([[1, 1, 5], [0, 9, 1]])
    upstream = torch.randn(2, 3, DIM, generator=torch.Generator().manual_seed(1))
    mine, reference = weight().requires_grad_(), weight().requires_grad_()
    (learner.one_hot_lookup(ids, mine) * upstream).sum().backward()
    (F.embedding(ids, reference) * upstream).sum().backward()
    expect(mine.grad is not None, expected="a gradient in weight.grad", seen="None")
    expect(torch.allclose(mine.grad, reference.grad, atol=1e-6),
           expected="the same gradient as F.embedding's (row 1 gets three contributions)",
           seen=f"a largest difference of {(mine.grad - reference.grad).abs().max().item():.3g}")
