"""Exercise 2.2, a reference answer: 784 → 128 → ReLU → 10."""

from __future__ import annotations

from torch import nn


def build_mlp() -> nn.Module:
    """28×28 image → 10 logits, through Linear layers with ReLU between them."""
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 10))
