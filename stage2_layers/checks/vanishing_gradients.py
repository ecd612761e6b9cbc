"""Checks for exercise 2.3: the measured shrink factor per layer, and the lesson's bar."""

from __future__ import annotations

from types import ModuleType

from torch import nn

from common.checks import check, expect
from stage2_layers.layers_tour import VANISHING_BASE, digits_batch, gradient_norms


def measured_factor(low: int, high: int) -> float:
    x, y = digits_batch()

    def ratio(depth: int) -> float:
        return (gradient_norms(nn.Sigmoid, x, y, depth=depth)[0]
                / gradient_norms(nn.ReLU, x, y, depth=depth)[0])

    return (ratio(high) / ratio(low)) ** (1 / (high - low))


def compare(learner: ModuleType, depths: list[int]) -> float:
    expected = measured_factor(min(depths), max(depths))
    seen = float(learner.shrink_per_layer(depths))
    expect(abs(seen - expected) <= 1e-3 * expected,
           expected=f"{expected:.4f} for depths {depths}", seen=f"{seen:.4g}")
    return seen


@check("the factor per layer for depths 4 to 12",
       hint="take the (d₂ − d₁)-th root of r(d₂)/r(d₁): the ratio alone is the shrink over "
            "all the extra layers, not per layer")
def depths_4_to_12(learner: ModuleType) -> None:
    compare(learner, [4, 12])


@check("the factor per layer for depths 2 to 8, given in any order",
       hint="use min(depths) and max(depths), not the first and last entries")
def depths_2_to_8(learner: ModuleType) -> None:
    compare(learner, [8, 2, 5])


@check(f"the factor lies below the lesson's bar of {VANISHING_BASE} per layer",
       hint="r(d) is sigmoid's gradient divided by ReLU's, not the other way round")
def below_the_bar(learner: ModuleType) -> None:
    seen = float(learner.shrink_per_layer([4, 12]))
    expect(0 < seen < VANISHING_BASE, expected=f"between 0 and {VANISHING_BASE}",
           seen=f"{seen:.4g}")
