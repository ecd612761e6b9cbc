"""A wrong answer whose loop never ends: the check must stop it and say so."""

from __future__ import annotations


def train(model, loss_fn, optimizer, batches, epochs):  # type: ignore[no-untyped-def]
    losses = []
    while len(losses) < epochs:
        pass  # forgot to append
    return losses
