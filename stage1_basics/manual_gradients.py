"""Gradients and update steps by hand, next to autograd and ``optimizer.step()``.

Opens the box of the training loop: the MSE gradient of a linear model derived on paper and
computed with NumPy equals what ``loss.backward()`` finds; a hand-written update equals
``optimizer.step()``; forgetting ``zero_grad()`` makes gradients pile up; and the learning rate
decides between crawling, converging and diverging.

Run: ``python -m stage1_basics.manual_gradients``
"""

# %%
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from torch import nn

from common.errors import NonFiniteLossError
from common.lesson import lesson_main, lesson_parser, positive_int
from common.paths import runs_dir
from common.plots import plot_loss_curves
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import TensorBatches
from stage1_basics.linear_regression import LinearData, make_linear_data, train

STAGE, LESSON = "stage1_basics", "manual_gradients"
GRADIENT_TOLERANCE = 1e-6  # float64: hand and autograd agree to rounding error
# Full-batch gradient descent on this data is stable below 2/λ_max ≈ 0.33 (see
# largest_stable_learning_rate): one rate far below it, one below it, one above it.
LEARNING_RATES = {"too small": 1e-4, "converges": 0.1, "too large": 1.0}


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], epochs=60)
    parser.add_argument("--samples", type=positive_int, default=500, help="data points to make")
    return parser


# %% 1. The gradient of MSE for y_hat = w·x + b, derived by hand:
#   L = mean((w·x + b - y)²)  →  dL/dw = mean(2·(y_hat - y)·x),  dL/db = mean(2·(y_hat - y))
def mse_gradients_numpy(x: np.ndarray, y: np.ndarray, w: float, b: float) -> tuple[float, float]:
    residual = w * x + b - y
    return float(np.mean(2 * residual * x)), float(np.mean(2 * residual))


def mse_gradients_autograd(data: LinearData, w: float, b: float) -> tuple[float, float]:
    model = nn.Linear(1, 1).double()
    with torch.no_grad():
        model.weight.fill_(w)
        model.bias.fill_(b)
    loss = nn.functional.mse_loss(model(data.x.double()), data.y.double())
    loss.backward()
    return model.weight.grad.item(), model.bias.grad.item()


# %% 2. One update step by hand vs optimizer.step()
def compare_update_steps(data: LinearData, lr: float = 0.1) -> float:
    """Max difference between parameters after a hand-written SGD step and ``optimizer.step()``."""
    auto = nn.Linear(1, 1)
    by_hand = nn.Linear(1, 1)
    by_hand.load_state_dict(auto.state_dict())
    optimizer = torch.optim.SGD(auto.parameters(), lr=lr)
    for model in (auto, by_hand):
        nn.functional.mse_loss(model(data.x), data.y).backward()
    optimizer.step()  # what the optimizer does for plain SGD ...
    with torch.no_grad():  # ... written out: w ← w - lr · dL/dw
        for parameter in by_hand.parameters():
            parameter -= lr * parameter.grad
    return max((a - h).abs().max().item()
               for a, h in zip(auto.parameters(), by_hand.parameters(), strict=True))


# %% 3. Without zero_grad(), .grad keeps the sum of every backward() so far
def accumulated_gradient_ratio(data: LinearData) -> float:
    model = nn.Linear(1, 1)
    nn.functional.mse_loss(model(data.x), data.y).backward()
    first = model.weight.grad.clone()
    nn.functional.mse_loss(model(data.x), data.y).backward()  # no zero_grad() in between
    return (model.weight.grad / first).item()


# %% 4. The learning rate: full-batch gradient descent with three step sizes
def largest_stable_learning_rate(x: np.ndarray) -> float:
    """The learning rate above which full-batch gradient descent on MSE(w·x + b) diverges.

    The loss is a bowl whose curvature is the Hessian H = 2·[[mean(x²), mean(x)], [mean(x), 1]];
    a step multiplies the error along each of H's directions by (1 - lr·λ), which shrinks only
    while lr < 2/λ. The steepest direction (the largest λ) sets the limit.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return float(2.0 / np.linalg.eigvalsh(hessian).max())


def train_with_lr(data: LinearData, lr: float, epochs: int) -> tuple[list[float], bool]:
    """Loss per step and whether training diverged (the loop stops at a non-finite loss)."""
    torch.manual_seed(0)  # the same starting weights for every learning rate
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    batches = TensorBatches(data.x, data.y, batch_size=len(data.x))  # one batch: all the data
    losses: list[float] = []
    try:
        for _ in range(epochs):
            losses += train(model, nn.MSELoss(), optimizer, batches, 1, progress=False)
    except NonFiniteLossError:
        return losses, True
    return losses, False


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    generator = seed_everything(args.seed)
    data = make_linear_data(args.samples, generator)
    epochs = min(args.epochs, 30) if args.quick else args.epochs
    x, y = data.x.double().numpy(), data.y.double().numpy()

    w, b = 0.3, -0.2
    hand = mse_gradients_numpy(x, y, w, b)
    auto = mse_gradients_autograd(data, w, b)
    gradient_gap = max(abs(h - a) for h, a in zip(hand, auto, strict=True))
    print(f"1. gradients at w={w}, b={b}: by hand (NumPy) dL/dw={hand[0]:.8f} dL/db={hand[1]:.8f}")
    print(f"   autograd (loss.backward()) dL/dw={auto[0]:.8f} dL/db={auto[1]:.8f}")

    step_gap = compare_update_steps(data)
    print(f"2. hand-written SGD step vs optimizer.step(): max parameter difference {step_gap:.2e}")

    ratio = accumulated_gradient_ratio(data)
    print(f"3. two backward() calls without zero_grad(): the gradient is {ratio:.3f}× the first")

    curves, diverged = {}, {}
    for name, lr in LEARNING_RATES.items():
        losses, diverged[name] = train_with_lr(data, lr, epochs)
        curves[f"lr={lr:g} ({name})"] = losses
        fate = (f"diverged after {len(losses)} steps (loss became inf/NaN)" if diverged[name]
                else f"loss {losses[0]:.3f} → {losses[-1]:.4f}")
        print(f"4. lr={lr:<7g} ({name}): {fate}")
    small, good = curves["lr=0.0001 (too small)"], curves["lr=0.1 (converges)"]
    stable_limit = largest_stable_learning_rate(x)
    print(f"   full-batch gradient descent on this data diverges above lr = 2/λ_max = "
          f"{stable_limit:.3f}")

    out = runs_dir(STAGE, LESSON, args.out)
    plot_loss_curves(curves, out / "learning_rates.png", log_scale=True, xlabel="step",
                     title="Same model, three learning rates")
    summary = LessonSummary(
        STAGE, LESSON, "tour", dataset="synthetic-linear",
        metrics={"max_gradient_diff": gradient_gap, "max_step_diff": step_gap,
                 "accumulation_ratio": ratio, "converging_lr_final_loss": good[-1],
                 "small_lr_final_loss": small[-1], "largest_stable_lr": stable_limit},
        outputs=[str(out / "learning_rates.png")],
    )
    summary.check(f"hand gradients equal autograd (float64, within {GRADIENT_TOLERANCE:g})",
                  gradient_gap <= GRADIENT_TOLERANCE)
    summary.check("a hand-written step equals optimizer.step()", step_gap <= 1e-7)
    summary.check("without zero_grad() the gradient doubles", abs(ratio - 2.0) <= 1e-5)
    summary.check("too small a learning rate leaves the loss far above lr 0.1's",
                  small[-1] > 10 * good[-1])
    summary.check("a learning rate above 2/λ_max diverges, and the loop catches it",
                  diverged["too large"] and not diverged["converges"]
                  and LEARNING_RATES["converges"] < stable_limit < LEARNING_RATES["too large"])
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
