"""Exercise 2.3 — how fast a sigmoid net's gradient vanishes with depth.

The lesson's experiment 4 compares the first layer's gradient of a deep sigmoid net with that
of the same net with ReLU. Measure how that ratio changes with depth: for each depth ``d`` in
``depths``, compute r(d) = sigmoid's first-layer gradient norm / ReLU's, with
``stage2_layers.layers_tour.gradient_norms(activation, x, y, depth=d)`` on
``x, y = layers_tour.digits_batch()``. Return the factor by which r shrinks per extra layer,
between the smallest depth d₁ and the largest d₂:

    factor = (r(d₂) / r(d₁)) ** (1 / (d₂ − d₁))

    def shrink_per_layer(depths) -> float

Before you run it, predict the factor from the bound the lesson prints: a sigmoid's slope is at
most 0.25. Done when ``mlcourse check 2.3`` passes: your factor equals the measured one for two
ranges of depth (within 0.1%), and it lies below the lesson's bar of 0.5 per layer.
"""

from __future__ import annotations

from collections.abc import Sequence


def shrink_per_layer(depths: Sequence[int]) -> float:
    """The factor per layer by which sigmoid's first-layer gradient (relative to ReLU's) shrinks."""
    raise NotImplementedError
