"""A wrong answer that raises inside the learner's own code (a typo): the traceback is theirs."""

from __future__ import annotations

import numpy as np


def mse_gradients(x, y, w, b):  # type: ignore[no-untyped-def]
    residual = w * x + b - y
    return float(np.mean(2 * residual * x)), float(np.mean(2 * residul))  # noqa: F821
