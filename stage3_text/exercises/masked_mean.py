"""Exercise 3.3 — masked mean pooling: the average of a message's word vectors, padding left out.

A batch of messages of different lengths is padded to one length with id 0 (``<pad>``). To get
one vector per message, average its word vectors over the real words only: padding must not
count, and a message that is all padding gives a vector of zeros (never NaN).

    def masked_mean(vectors, ids) -> torch.Tensor
    # vectors [batch, time, dim] and ids [batch, time] → [batch, dim]

Done when ``mlcourse check 3.3`` passes: the result equals the mean over the non-padding
positions, changing the vectors at padded positions changes nothing, an all-padding row gives
zeros, and no gradient flows to padded positions.
"""

from __future__ import annotations

import torch

PAD_ID = 0


def masked_mean(vectors: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean of ``vectors[b, t]`` over the positions whose id is not ``PAD_ID``."""
    raise NotImplementedError
