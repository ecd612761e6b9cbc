"""The multi-layer perceptron of stage 2: Flatten, then (Linear → activation) blocks, then Linear.

One builder serves every network of the stage (the tour's linear model and deep sigmoid/ReLU nets,
the MNIST classifier, the loading benchmark), so they differ only in the arguments you can read.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from torch import nn

DEFAULT_HIDDEN: tuple[int, ...] = (256,)
DEFAULT_DROPOUT = 0.2
IMAGE_PIXELS, DIGIT_CLASSES = 28 * 28, 10


def build_mlp(
    hidden: Sequence[int] = DEFAULT_HIDDEN,
    *,
    in_features: int = IMAGE_PIXELS,
    classes: int = DIGIT_CLASSES,
    activation: type[nn.Module] = nn.ReLU,
    dropout: float = 0.0,
) -> nn.Sequential:
    """``in_features → hidden[0] → … → classes``; with no hidden layers it is a linear model.

    The last layer has no activation: it returns logits, and ``nn.CrossEntropyLoss`` applies the
    softmax itself (more stable than softmax followed by a log).
    """
    layers: list[nn.Module] = [nn.Flatten()]  # (n, 1, 28, 28) images become (n, 784) rows
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), activation()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's ``nn.Linear`` layers, input side first."""
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def parse_hidden(text: str) -> tuple[int, ...]:
    """argparse type for ``--hidden 256,128``: the widths of the hidden layers, input side first."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths >= 1 such as 256,128, got {text!r}"
        )
    return tuple(int(part) for part in parts)
