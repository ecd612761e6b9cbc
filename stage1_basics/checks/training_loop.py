"""Checks for exercise 1.1: the loop's order of events, its return value, and that it learns.

The optimizer is a recording ``SGD`` and a hook on the weight sees every backward pass, so a
loop that forgets ``zero_grad()`` or steps before ``backward()`` fails here even when its final
loss happens to look fine.
"""

from __future__ import annotations

import math
from types import ModuleType

import torch
from torch import nn

from common.checks import check, expect
from common.training import TensorBatches
from stage1_basics.linear_regression import (
    LOSS_THRESHOLD,
    PARAMETER_TOLERANCE,
    TRUE_BIAS,
    TRUE_WEIGHT,
    make_linear_data,
    mean_squared_error,
    split_held_out,
)


class RecordingSGD(torch.optim.SGD):
    """Plain SGD that writes down each ``zero_grad`` and ``step`` into ``events``."""

    def __init__(self, params, lr: float, events: list[str]) -> None:
        super().__init__(params, lr=lr)
        self.events = events

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.events.append("zero_grad")
        super().zero_grad(set_to_none)

    def step(self, closure=None):  # type: ignore[no-untyped-def]
        self.events.append("step")
        return super().step(closure)


def recorded_run(learner: ModuleType, *, epochs: int = 2, lr: float = 0.01
                 ) -> tuple[list[str], object, int]:
    """Run the learner's loop on 10 points in batches of 4, 4, 2; returns events, result, steps.

    A ``backward`` event is recorded as ``backward-on-stale`` when the weight's ``.grad``
    still held an earlier gradient: what the new one would be added to.
    """
    torch.manual_seed(0)
    data = make_linear_data(10, torch.Generator().manual_seed(1))
    model = nn.Linear(1, 1)
    events: list[str] = []

    def on_backward(gradient: torch.Tensor) -> None:
        stale = model.weight.grad is not None and bool(model.weight.grad.abs().sum() > 0)
        events.append("backward-on-stale" if stale else "backward")

    model.weight.register_hook(on_backward)
    optimizer = RecordingSGD(model.parameters(), lr, events)
    batches = TensorBatches(data.x, data.y, batch_size=4)
    result = learner.train(model, nn.MSELoss(), optimizer, batches, epochs)
    return events, result, epochs * len(batches)


@check("train returns one mean loss per epoch", hint="append each epoch's mean loss to a list "
       "and return the list after the last epoch")
def one_loss_per_epoch(learner: ModuleType) -> None:
    _, result, _ = recorded_run(learner, epochs=3)
    expect(isinstance(result, list | tuple), expected="a list of 3 floats",
           seen=f"{type(result).__name__}: {result!r}")
    expect(len(result) == 3 and all(isinstance(v, float) and math.isfinite(v) for v in result),
           expected="3 finite floats (use loss.item() for a float)", seen=repr(result)[:120])


@check("every backward() starts from cleared gradients",
       hint="gradients add up across backward() calls: call optimizer.zero_grad() before "
            "loss.backward() in every step")
def zeroes_before_backward(learner: ModuleType) -> None:
    events, _, batches = recorded_run(learner)
    backward = [event for event in events if event.startswith("backward")]
    stale = backward.count("backward-on-stale")
    expect(len(backward) == batches, expected=f"{batches} backward() calls (one per batch)",
           seen=f"{len(backward)}")
    expect(stale == 0, expected="0 backward() calls on top of an old gradient",
           seen=f"{stale} of {len(backward)} ran on gradients left from an earlier batch")


@check("step() follows each backward(), once per batch",
       hint="the loss did not fall as it should: is optimizer.step() called after "
            "loss.backward(), once per batch?")
def steps_after_backward(learner: ModuleType) -> None:
    events, _, batches = recorded_run(learner)
    steps = events.count("step")
    expect(steps == batches, expected=f"{batches} step() calls (one per batch)", seen=f"{steps}")
    since_backward = False
    for index, event in enumerate(events):
        if event.startswith("backward"):
            since_backward = True
        elif event == "step":
            expect(since_backward, expected="a backward() before each step()",
                   seen=f"step() number {events[: index + 1].count('step')} came with no "
                        "new gradient (step before backward)")
            since_backward = False


@check("the epoch loss is a mean per example",
       hint="weight each batch's loss by its size: total += loss.item() * len(y), then divide "
            "by the number of examples")
def mean_per_example(learner: ModuleType) -> None:
    torch.manual_seed(0)
    data = make_linear_data(10, torch.Generator().manual_seed(1))
    model = nn.Linear(1, 1)
    expected = mean_squared_error(model, data)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the weights stay put
    losses = learner.train(model, nn.MSELoss(), optimizer, TensorBatches(
        data.x, data.y, batch_size=4), 1)
    expect(abs(losses[0] - expected) <= 1e-5 * max(1.0, expected),
           expected=f"{expected:.5f} (the MSE over all 10 points, batches of 4, 4 and 2)",
           seen=f"{losses[0]:.5f}")


@check(f"the lesson's model reaches the loss bar (held-out MSE <= {LOSS_THRESHOLD:.2f})",
       hint="the loss did not fall: is optimizer.step() called after loss.backward(), and is "
            "the loss computed from model(x) and y?")
def reaches_the_loss_bar(learner: ModuleType) -> None:
    generator = torch.Generator().manual_seed(0)
    train_data, held_out = split_held_out(make_linear_data(1000, generator), generator)
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    learner.train(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.02),
                  TensorBatches(train_data.x, train_data.y, batch_size=32, shuffle=True,
                                generator=generator), 30)
    loss = mean_squared_error(model, held_out)
    expect(loss <= LOSS_THRESHOLD, expected=f"held-out MSE <= {LOSS_THRESHOLD:.2f}",
           seen=f"{loss:.4g}")
    weight, bias = model.weight.item(), model.bias.item()
    expect(abs(weight - TRUE_WEIGHT) <= PARAMETER_TOLERANCE
           and abs(bias - TRUE_BIAS) <= PARAMETER_TOLERANCE,
           expected=f"weight {TRUE_WEIGHT:+.2f} and bias {TRUE_BIAS:+.2f}, "
                    f"each within {PARAMETER_TOLERANCE}",
           seen=f"weight {weight:+.3f}, bias {bias:+.3f}")
