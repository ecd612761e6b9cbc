"""Exercise 3.3, a reference answer (the course's own is ``stage3_text.classifier.masked_mean``)."""

from __future__ import annotations

import torch

PAD_ID = 0


def masked_mean(vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean of ``vectors[b, t]`` over the positions whose id is not ``PAD_ID``."""
    mask = (ids != PAD_ID).unsqueeze(-1).to(vectors.dtype)  # [batch, time, 1]: 1 word, 0 pad
    total = (vectors * mask).sum(dim=1)
    return total / mask.sum(dim=1).clamp(min=1.0)  # an all-pad row: 0 / 1 = 0, not 0 / 0
