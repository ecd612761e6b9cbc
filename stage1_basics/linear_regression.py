"""Linear regression: the whole training loop on data whose true answer we know.

The eight ideas of stage 1, each visible below:
  model = a function (``nn.Linear`` computes y = w·x + b), weights = its parameters (w, b),
  inputs X and targets y, the loss (mean squared error), the gradient, backpropagation
  (``loss.backward()``), the optimizer (``optimizer.step()``), and the loop that repeats them.

Run: ``python -m stage1_basics.linear_regression [--quick] [--epochs N] [--lr LR]``
"""

# %%
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import torch
from torch import nn

from common.devices import pick_device
from common.lesson import lesson_main, lesson_parser, positive_float, positive_int
from common.paths import runs_dir
from common.plots import plot_loss_curves, save_figure
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import TensorBatches, evaluate, fit, log_epoch

STAGE, LESSON = "stage1_basics", "linear_regression"
TRUE_WEIGHT, TRUE_BIAS, NOISE_STD = 2.0, -1.0, 0.5
# The best any model can do is the noise itself: MSE = NOISE_STD². We ask for within 20% of it.
LOSS_THRESHOLD = 1.2 * NOISE_STD**2
PARAMETER_TOLERANCE = 0.05


@dataclass
class LinearData:
    """Inputs X (n×1) and targets y (n×1) drawn from y = w·x + b + noise."""

    x: torch.Tensor
    y: torch.Tensor


def make_linear_data(n: int, generator: torch.Generator) -> LinearData:
    x = torch.empty(n, 1).uniform_(-3.0, 3.0, generator=generator)
    noise = torch.randn(n, 1, generator=generator) * NOISE_STD
    return LinearData(x, TRUE_WEIGHT * x + TRUE_BIAS + noise)


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
    print(f"data: {args.samples} points from y = {TRUE_WEIGHT}·x + {TRUE_BIAS}"
          f" + noise (std {NOISE_STD})")

    model = nn.Linear(1, 1)  # the model: a function with two parameters, weight and bias
    loss_fn = nn.MSELoss()  # the loss: the mean of (prediction - target)²
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    print(f"before training: weight {model.weight.item():+.3f}, bias {model.bias.item():+.3f}")

    batches = TensorBatches(data.x, data.y, batch_size=args.batch_size, shuffle=True,
                            generator=generator)
    history = fit(model, loss_fn, optimizer, batches, epochs=epochs, device=device,
                  on_epoch=log_epoch, desc=LESSON)
    final_loss = evaluate(model, loss_fn, TensorBatches(data.x, data.y, batch_size=1024),
                          device).loss

    weight, bias = model.weight.item(), model.bias.item()
    print(f"learned: weight {weight:+.3f} (true {TRUE_WEIGHT:+.3f}), "
          f"bias {bias:+.3f} (true {TRUE_BIAS:+.3f})")
    out = runs_dir(STAGE, LESSON, args.out)
    plot_loss_curves({"train (mean over epoch)": history.train_losses}, out / "loss_curve.png",
                     title="MSE loss per epoch", threshold=LOSS_THRESHOLD, log_scale=True)
    plot_fit(data, model.cpu(), out / "fit.png")

    summary = LessonSummary(
        STAGE, LESSON, "train", dataset="synthetic-linear",
        final_loss=final_loss, loss_threshold=LOSS_THRESHOLD,
        metrics={"weight_error": abs(weight - TRUE_WEIGHT), "bias_error": abs(bias - TRUE_BIAS),
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
