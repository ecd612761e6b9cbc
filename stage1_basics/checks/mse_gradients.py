"""Checks for exercise 1.2: hand-derived MSE gradients against autograd's."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import torch

from common.checks import check, expect
from stage1_basics.linear_regression import make_linear_data

POINTS = [(0.0, 0.0), (0.3, -0.2), (5.0, 3.0), (-2.0, 1.5)]
TOLERANCE = 1e-8


def autograd_gradients(x: np.ndarray, y: np.ndarray, w: float, b: float) -> tuple[float, float]:
    weight = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = ((weight * torch.from_numpy(x) + bias - torch.from_numpy(y)) ** 2).mean()
    loss.backward()
    return weight.grad.item(), bias.grad.item()


def data(shape: str) -> tuple[np.ndarray, np.ndarray]:
    points = make_linear_data(200, torch.Generator().manual_seed(0))
    x, y = points.x.double().numpy(), points.y.double().numpy()
    return (x.ravel(), y.ravel()) if shape == "(n,)" else (x, y)


def compare(learner: ModuleType, shape: str) -> None:
    x, y = data(shape)
    for w, b in POINTS:
        result = learner.mse_gradients(x, y, w, b)
        expect(len(result) == 2, expected="a pair (dL/dw, dL/db)", seen=repr(result)[:80])
        mine = tuple(float(np.asarray(value)) for value in result)
        auto = autograd_gradients(x, y, w, b)
        expect(all(abs(m - a) <= TOLERANCE * max(1.0, abs(a))
                   for m, a in zip(mine, auto, strict=True)),
               expected=f"at w={w}, b={b} with x of shape {shape}: "
                        f"dL/dw={auto[0]:.6f}, dL/db={auto[1]:.6f} (autograd)",
               seen=f"dL/dw={mine[0]:.6f}, dL/db={mine[1]:.6f}")


@check("equals autograd for x of shape (n,)",
       hint="with r = w·x + b − y: dL/dw = mean(2·r·x) and dL/db = mean(2·r); mind the 2 "
            "from the square and the sign of r")
def equals_autograd_flat(learner: ModuleType) -> None:
    compare(learner, "(n,)")


@check("equals autograd for x of shape (n, 1)",
       hint="use element-wise NumPy (np.mean of products), not np.dot or @, so any shape works")
def equals_autograd_column(learner: ModuleType) -> None:
    compare(learner, "(n, 1)")


@check("both gradients are 0 at the least-squares solution",
       hint="at the best w and b the mean residual and the mean residual·x are both 0")
def zero_at_the_minimum(learner: ModuleType) -> None:
    x, y = data("(n,)")
    w, b = np.polyfit(x, y, 1)
    result = tuple(float(np.asarray(value)) for value in learner.mse_gradients(x, y, w, b))
    expect(max(abs(value) for value in result) <= 1e-9,
           expected=f"(0, 0) at w={w:.4f}, b={b:.4f}", seen=f"({result[0]:.2e}, {result[1]:.2e})")
