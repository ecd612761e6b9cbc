"""A plausible wrong answer: it returns the whole shrink, not the factor per layer.

Mutated from stage2_layers/solutions/vanishing_gradients.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from stage2_layers.layers_tour import digits_batch, gradient_norms


def first_layer_ratio(depth: int) -> float:
    x, y = digits_batch()
    sigmoid = gradient_norms(nn.Sigmoid, x, y, depth=depth)
    relu = gradient_norms(nn.ReLU, x, y, depth=depth)
    return sigmoid[0] / relu[0]


def shrink_per_layer(depths: Sequence[int]) -> float:
    """The factor per layer by which sigmoid's first-layer gradient (relative to ReLU's) shrinks."""
    low, high = min(depths), max(depths)
    return first_layer_ratio(high) / first_layer_ratio(low)
