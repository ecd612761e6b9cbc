"""A plausible wrong answer: it has no ReLU between its layers.

Mutated from stage2_layers/solutions/digits_mlp.py.
"""

from __future__ import annotations

from torch import nn


def build_mlp() -> nn.Module:
    """28×28 image → 10 logits, through Linear layers with ReLU between them."""
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.Linear(128, 10))
