"""Exercise 1.2 — the gradients of the MSE loss by hand, in NumPy.

For the model y_hat = w·x + b and the loss L = mean((y_hat − y)²), derive dL/dw and dL/db on
paper, then compute them with NumPy only (no torch):

    def mse_gradients(x, y, w, b) -> tuple[float, float]   # (dL/dw, dL/db)

``x`` and ``y`` are arrays of the same shape, (n,) or (n, 1).

Done when ``mlcourse check 1.2`` passes: your two numbers equal what ``loss.backward()`` puts
into ``weight.grad`` and ``bias.grad`` (float64, within 1e-8) at several points, for both
shapes, and both are 0 at the least-squares solution.
"""

from __future__ import annotations

import numpy as np


def mse_gradients(x: np.ndarray, y: np.ndarray, w: float, b: float) -> tuple[float, float]:
    """(dL/dw, dL/db) of L = mean((w·x + b − y)²)."""
    raise NotImplementedError
