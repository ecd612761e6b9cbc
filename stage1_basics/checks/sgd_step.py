"""Checks for exercise 1.3: a hand-written SGD step against ``torch.optim.SGD``."""

from __future__ import annotations

from types import ModuleType

import torch
from torch import nn

from common.checks import check, expect
from stage1_basics.linear_regression import make_linear_data

LR = 0.1


def twin_models() -> tuple[nn.Module, nn.Module]:
    """Two identical small models with the same gradients in ``.grad``."""
    torch.manual_seed(0)
    data = make_linear_data(64, torch.Generator().manual_seed(0))
    first = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
    second = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
    second.load_state_dict(first.state_dict())
    for model in (first, second):
        nn.functional.mse_loss(model(data.x), data.y).backward()
    return first, second


@check("the step equals torch.optim.SGD's", hint="subtract lr * p.grad from each parameter "
       "in place (p -= ...) inside torch.no_grad()")
def equals_optimizer_step(learner: ModuleType) -> None:
    mine, reference = twin_models()
    originals = [parameter for parameter in mine.parameters()]
    torch.optim.SGD(reference.parameters(), lr=LR).step()
    learner.sgd_step(mine.parameters(), LR)
    gap = max((a - b).abs().max().item()
              for a, b in zip(mine.parameters(), reference.parameters(), strict=True))
    expect(gap <= 1e-7, expected="parameters equal to SGD's after one step (difference 0)",
           seen=f"a largest difference of {gap:.3g}")
    expect(all(a is b for a, b in zip(mine.parameters(), originals, strict=True)),
           expected="the model's own parameter tensors, changed in place",
           seen="new tensors", hint="write p -= lr * p.grad, not p = p - lr * p.grad")


@check("the parameters still require gradients (the model can keep training)",
       hint="update inside `with torch.no_grad():` on the parameters themselves; do not "
            "replace them with .data copies or detached tensors")
def still_trainable(learner: ModuleType) -> None:
    mine, _ = twin_models()
    learner.sgd_step(mine.parameters(), LR)
    expect(all(p.requires_grad and p.is_leaf for p in mine.parameters()),
           expected="every parameter a leaf with requires_grad=True",
           seen="some are not any more")


@check("the gradients are cleared after the step",
       hint="set p.grad = None (or p.grad.zero_()) after the update, as optimizer.zero_grad() "
            "would; otherwise the next backward() adds to the old gradient")
def clears_gradients(learner: ModuleType) -> None:
    mine, _ = twin_models()
    learner.sgd_step(mine.parameters(), LR)
    left = [p.grad.abs().sum().item() for p in mine.parameters() if p.grad is not None]
    expect(all(value == 0 for value in left), expected="no gradient left (None or zeros)",
           seen=f"{sum(value != 0 for value in left)} parameters still hold a gradient")


@check("parameters without a gradient are skipped",
       hint="check `if p.grad is None: continue` before the update")
def skips_missing_gradients(learner: ModuleType) -> None:
    frozen = nn.Linear(2, 2)
    before = [p.detach().clone() for p in frozen.parameters()]
    learner.sgd_step(frozen.parameters(), LR)  # no backward(): every .grad is None
    expect(all(torch.equal(a, b) for a, b in zip(frozen.parameters(), before, strict=True)),
           expected="the parameters unchanged", seen="they changed")
