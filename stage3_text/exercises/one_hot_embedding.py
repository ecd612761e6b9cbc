"""Exercise 3.2 — an embedding lookup is a one-hot vector times a matrix.

``nn.Embedding`` picks row ``i`` of its weight ``W`` for id ``i``. Show that this is the same as
multiplying the one-hot vector of ``i`` by ``W``: write the product yourself, for a tensor of
ids of any shape, with ``torch.nn.functional.one_hot`` and a matrix product (no indexing of
``weight``, no ``nn.Embedding``, no ``F.embedding``).

    def one_hot_lookup(ids, weight) -> torch.Tensor   # ids [...] → vectors [..., dim]

Done when ``mlcourse check 3.2`` passes: the result equals ``F.embedding(ids, weight)`` for
batches of ids of different shapes, including batches that never use the last rows of
``weight``, and the gradient that reaches ``weight`` equals the embedding's.
"""

from __future__ import annotations

import torch


def one_hot_lookup(ids: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``one_hot(ids) @ weight``: the rows of ``weight`` for ``ids``, shaped ``[..., dim]``."""
    raise NotImplementedError
