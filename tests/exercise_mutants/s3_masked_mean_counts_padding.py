"""A plausible wrong answer: it divides by the padded length.

Mutated from stage3_text/solutions/masked_mean.py.
"""

from __future__ import annotations

import torch

PAD_ID = 0


def masked_mean(vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean of ``vectors[b, t]`` over the positions whose id is not ``PAD_ID``."""
    mask = (ids != PAD_ID).unsqueeze(-1).to(vectors.dtype)  # [batch, time, 1]: 1 word, 0 pad
    total = (vectors * mask).sum(dim=1)
    return total / vectors.shape[1]
