"""Linear regression: the whole training loop on data whose true answer we know.

The eight ideas of stage 1, each visible below:
  model = a function (``nn.Linear`` computes y = w·x + b), weights = its parameters (w, b),
  inputs X and targets y, the loss (mean squared error), the gradient, backpropagation
  (``loss.backward()``), the optimizer (``optimizer.step()``), and the loop that repeats them:
  :func:`train` writes that loop out line by line. Stage 2 lifts the very same loop into
  ``common.training.fit`` and uses it from then on.

The model trains on 80% of the points; the loss it is judged by (``final_loss``, the loss bar's
subject) is the mean squared error on the other 20%, points it never saw.

Run: ``python -m stage1_basics.linear_regression [--quick] [--epochs N] [--lr LR]``
"""

# %%
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from common.devices import pick_device
from common.errors import NonFiniteLossError
from common.lesson import lesson_main, lesson_parser, positive_float, positive_int
from common.paths import runs_dir
from common.plots import plot_loss_curves, save_figure
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import TensorBatches

STAGE, LESSON = "stage1_basics", "linear_regression"
TRUE_WEIGHT, TRUE_BIAS, NOISE_STD = 2.0, -1.0, 0.5
# The best any model can do is the noise itself: MSE = NOISE_STD². The loss bar asks for the
# held-out MSE to be within 20% of it.
LOSS_THRESHOLD = 1.2 * NOISE_STD**2
PARAMETER_TOLERANCE = 0.05
HELD_OUT_SHARE = 0.2
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class LinearData:
    """Inputs X (n×1) and targets y (n×1) drawn from y = w·x + b + noise."""

    x: torch.Tensor
    y: torch.Tensor


def make_linear_data(n: int, generator: torch.Generator) -> LinearData:
    x = torch.empty(n, 1).uniform_(-3.0, 3.0, generator=generator)
    noise = torch.randn(n, 1, generator=generator) * NOISE_STD
    return LinearData(x, TRUE_WEIGHT * x + TRUE_BIAS + noise)


def split_held_out(data: LinearData, generator: torch.Generator,
                   share: float = HELD_OUT_SHARE) -> tuple[LinearData, LinearData]:
    """A random ``1 - share`` of the points to train on, the rest held out to judge the model."""
    order = torch.randperm(len(data.x), generator=generator)
    cut = len(order) - max(1, round(share * len(order)))
    train, held_out = order[:cut], order[cut:]
    return LinearData(data.x[train], data.y[train]), LinearData(data.x[held_out], data.y[held_out])


# %% The training loop, written out
def train(model: nn.Module, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
          batches: Iterable[tuple[torch.Tensor, torch.Tensor]], epochs: int, *,
          progress: bool = True) -> list[float]:
    """Repeat forward → loss → backward → step over every batch, ``epochs`` times.

    Returns the mean training loss of each epoch. Stops with :class:`NonFiniteLossError` as soon
    as the loss is NaN or infinite: the steps were too large and training diverged.
    """
    epoch_losses = []
    for epoch in tqdm(range(1, epochs + 1), desc=LESSON, unit="epoch",
                      disable=None if progress else True):
        total, count = 0.0, 0
        for step, (x, y) in enumerate(batches, start=1):
            prediction = model(x)  # 1. forward: the model is a function of inputs and weights
            loss = loss_fn(prediction, y)  # 2. loss: how wrong the predictions are
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"the loss became {value} at epoch {epoch}, step {step}: training diverged "
                    "(try a smaller learning rate)")
            optimizer.zero_grad()  # gradients accumulate unless cleared
            loss.backward()  # 3. backward: d(loss)/d(weight) for every weight
            optimizer.step()  # 4. step: move every weight a little against its gradient
            total += value * len(y)
            count += len(y)
        epoch_losses.append(total / count)
        if progress:
            tqdm.write(f"epoch {epoch:>3}  loss {epoch_losses[-1]:.4f}")
    return epoch_losses


@torch.no_grad()
def mean_squared_error(model: nn.Module, data: LinearData) -> float:
    """The loss on ``data`` without recording gradients: judging, not training."""
    return nn.functional.mse_loss(model(data.x), data.y).item()


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], epochs=30)
    parser.add_argument("--samples", type=positive_int, default=1000, help="data points to make")
    parser.add_argument("--lr", type=positive_float, default=0.02, help="learning rate of SGD")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="points per step")
    return parser


def plot_fit(data: LinearData, model: nn.Linear, path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(data.x.squeeze(1), data.y.squeeze(1), s=6, alpha=0.4, label="data (with noise)")
    line = torch.linspace(-3, 3, 50).unsqueeze(1)
    ax.plot(line, TRUE_WEIGHT * line + TRUE_BIAS, "k--", label="true line")
    with torch.no_grad():
        ax.plot(line, model(line.to(model.weight.device)).cpu(), "r", label="learned line")
    ax.set(title="What the model learned", xlabel="x", ylabel="y")
    ax.legend()
    save_figure(fig, path)


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    generator = seed_everything(args.seed)
    device = pick_device(args.device)
    epochs = min(args.epochs, 8) if args.quick else args.epochs
    data = make_linear_data(args.samples, generator)
    train_data, held_out = split_held_out(data, generator)
    print(f"data: {args.samples} points from y = {TRUE_WEIGHT}·x + {TRUE_BIAS}"
          f" + noise (std {NOISE_STD}); {len(train_data.x)} to train on, "
          f"{len(held_out.x)} held out")

    model = nn.Linear(1, 1).to(device)  # the model: a function with two parameters, w and b
    loss_fn = nn.MSELoss()  # the loss: the mean of (prediction - target)²
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    print(f"before training: weight {model.weight.item():+.3f}, bias {model.bias.item():+.3f}")

    batches = TensorBatches(train_data.x.to(device), train_data.y.to(device),
                            batch_size=args.batch_size, shuffle=True, generator=generator)
    train_losses = train(model, loss_fn, optimizer, batches, epochs)
    held_out_loss = mean_squared_error(model, LinearData(held_out.x.to(device),
                                                         held_out.y.to(device)))
    print(f"held-out MSE {held_out_loss:.4f} (loss bar {LOSS_THRESHOLD:.2f}; "
          f"the noise alone gives {NOISE_STD**2:.2f})")

    weight, bias = model.weight.item(), model.bias.item()
    print(f"learned: weight {weight:+.3f} (true {TRUE_WEIGHT:+.3f}), "
          f"bias {bias:+.3f} (true {TRUE_BIAS:+.3f})")
    out = runs_dir(STAGE, LESSON, args.out)
    plot_loss_curves({"train (mean over epoch)": train_losses}, out / "loss_curve.png",
                     title="MSE loss per epoch", threshold=LOSS_THRESHOLD, log_scale=True)
    plot_fit(data, model.cpu(), out / "fit.png")

    summary = LessonSummary(
        STAGE, LESSON, "train", dataset="synthetic-linear",
        final_loss=held_out_loss, loss_threshold=LOSS_THRESHOLD,
        metrics={"held_out_mse": held_out_loss, "train_mse_last_epoch": train_losses[-1],
                 "weight_error": abs(weight - TRUE_WEIGHT), "bias_error": abs(bias - TRUE_BIAS),
                 "weight": weight, "bias": bias, "noise_variance": NOISE_STD**2},
        outputs=[str(out / "loss_curve.png"), str(out / "fit.png")],
    )
    summary.check(f"weight within {PARAMETER_TOLERANCE} of the truth",
                  abs(weight - TRUE_WEIGHT) <= PARAMETER_TOLERANCE)
    summary.check(f"bias within {PARAMETER_TOLERANCE} of the truth",
                  abs(bias - TRUE_BIAS) <= PARAMETER_TOLERANCE)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
