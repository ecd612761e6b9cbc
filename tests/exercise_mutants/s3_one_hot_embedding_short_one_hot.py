"""A plausible wrong answer: it lets one_hot guess the number of classes.

Mutated from stage3_text/solutions/one_hot_embedding.py.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def one_hot_lookup(ids: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``one_hot(ids) @ weight``: the rows of ``weight`` for ``ids``, shaped ``[..., dim]``."""
    one_hot = F.one_hot(ids).to(weight.dtype)  # [..., vocab]
    return one_hot @ weight  # each one-hot row selects one row of weight
