"""Exercise 2.2 — a Linear + ReLU network that reads handwritten digits.

Build a multi-layer perceptron for 28×28 greyscale digit images (batches shaped
``[n, 1, 28, 28]``, already normalised) that returns 10 logits per image, one per digit: flatten
the image, then a couple of ``nn.Linear`` layers with ``nn.ReLU`` between them, and no
activation after the last layer (``nn.CrossEntropyLoss`` takes logits).

    def build_mlp() -> nn.Module

Done when ``mlcourse check 2.2`` passes: the model maps ``[n, 1, 28, 28]`` to ``[n, 10]``, it is
not a linear function of its input (a ReLU really sits between the layers), it has at most
500,000 parameters, and trained by the check with ``common.training.fit`` (Adam, learning rate
1e-3, batch 64, 8 epochs) on the offline digits it reaches a test accuracy of at least 0.95.
"""

from __future__ import annotations

from torch import nn


def build_mlp() -> nn.Module:
    """28×28 image → 10 logits, through Linear layers with ReLU between them."""
    raise NotImplementedError
