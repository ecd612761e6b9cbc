"""A plausible wrong answer: it forgets the 2 from the square.

Mutated from stage1_basics/solutions/mse_gradients.py.
"""

from __future__ import annotations

import numpy as np


def mse_gradients(x: np.ndarray, y: np.ndarray, w: float, b: float) -> tuple[float, float]:
    """(dL/dw, dL/db) of L = mean((w·x + b − y)²)."""
    residual = w * x + b - y
    return float(np.mean(residual * x)), float(np.mean(residual))
