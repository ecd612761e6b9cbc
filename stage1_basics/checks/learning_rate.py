"""Checks for exercise 1.4: the measured answer agrees with the stability limit 2/λ_max.

The limit comes from ``stage1_basics.manual_gradients.largest_stable_learning_rate``, the figure
the lesson prints; no rate of a grid here lies near it, so the answer is definite.
"""

from __future__ import annotations

from types import ModuleType

import torch

from common.checks import check, expect
from stage1_basics.linear_regression import make_linear_data
from stage1_basics.manual_gradients import largest_stable_learning_rate

LESSON_GRID = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 1.0]


def expected_answer(x: torch.Tensor, rates: list[float]) -> float:
    limit = largest_stable_learning_rate(x.numpy())
    return max(rate for rate in rates if rate < limit)


def answer(learner: ModuleType, x: torch.Tensor, y: torch.Tensor, rates: list[float]) -> float:
    result = learner.largest_converging_lr(x, y, list(rates), 100)
    expect(isinstance(result, int | float), expected="a number (one of the rates)",
           seen=f"{type(result).__name__}: {result!r}"[:80])
    return float(result)


@check("on the lesson's data: the largest rate below 2/λ_max ≈ 0.33",
       hint="count a rate as converging only when the last loss is finite AND below the first; "
            "NaN compares False with everything, so test it explicitly (math.isfinite)")
def lesson_data(learner: ModuleType) -> None:
    data = make_linear_data(1000, torch.Generator().manual_seed(0))
    expected = expected_answer(data.x, LESSON_GRID)
    seen = answer(learner, data.x, data.y, LESSON_GRID)
    expect(seen == expected, expected=f"{expected:g} (the limit here is "
           f"{largest_stable_learning_rate(data.x.numpy()):.3f})", seen=f"{seen:g}")


@check("the answer is the largest converging rate, in whatever order the rates come",
       hint="keep every converging rate and return max(...) of them, not the last one seen")
def any_order(learner: ModuleType) -> None:
    data = make_linear_data(1000, torch.Generator().manual_seed(0))
    shuffled = [0.3, 1.0, 0.05, 0.2, 0.6, 0.01, 0.1, 0.4]
    expected = expected_answer(data.x, shuffled)
    seen = answer(learner, data.x, data.y, shuffled)
    expect(seen == expected, expected=f"{expected:g}", seen=f"{seen:g}")


@check("the answer moves with the data (it is measured, not typed in)",
       hint="train on the x and y you are given for every rate; do not return a fixed number")
def other_data(learner: ModuleType) -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.empty(500, 1).uniform_(-1.0, 1.0, generator=generator)
    y = 0.5 * x + 2.0 + 0.1 * torch.randn(500, 1, generator=generator)
    rates = [0.1, 0.3, 0.5, 0.9, 1.1, 1.5]
    expected = expected_answer(x, rates)
    seen = answer(learner, x, y, rates)
    expect(seen == expected, expected=f"{expected:g} (the limit for this data is "
           f"{largest_stable_learning_rate(x.numpy()):.3f})", seen=f"{seen:g}")
