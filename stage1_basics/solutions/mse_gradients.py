"""Exercise 1.2, a reference answer.

L = mean(r²) with r = w·x + b − y, so dL/dw = mean(2·r·x) and dL/db = mean(2·r).
"""

from __future__ import annotations

import numpy as np


def mse_gradients(x: np.ndarray, y: np.ndarray, w: float, b: float) -> tuple[float, float]:
    """(dL/dw, dL/db) of L = mean((w·x + b − y)²)."""
    residual = w * x + b - y
    return float(np.mean(2 * residual * x)), float(np.mean(2 * residual))
