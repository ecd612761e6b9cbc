"""A wrong answer nobody here wrote in the solution's order: it steps before ``backward()``."""

from __future__ import annotations


def train(model, loss_fn, optimizer, batches, epochs):  # type: ignore[no-untyped-def]
    losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in batches:
            optimizer.zero_grad()
            optimizer.step()
            loss = loss_fn(model(x), y)
            loss.backward()
            total += loss.item() * len(y)
            count += len(y)
        losses.append(total / count)
    return losses
