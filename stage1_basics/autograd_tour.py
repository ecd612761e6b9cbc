"""Autograd on a scalar graph: the chain rule by hand, then ``backward()`` does the same.

A model's loss is built from small operations. PyTorch records them as a graph while computing
forward; ``loss.backward()`` walks that graph backwards, multiplying local derivatives (the chain
rule). Here we do it by hand for one tiny graph, compare with autograd and with finite
differences, and draw what a gradient means: the slope of the loss at the current weight.

Run: ``python -m stage1_basics.autograd_tour``
"""

# %%
from __future__ import annotations

import argparse
import sys

import torch

from common.lesson import lesson_main, lesson_parser
from common.paths import runs_dir
from common.plots import save_figure
from common.summary import LessonSummary

STAGE, LESSON = "stage1_basics", "autograd_tour"
TOLERANCE = 1e-9  # float64 throughout: hand, autograd and numeric gradients agree this closely


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    parser.add_argument("--w", type=float, default=0.5, help="the weight to take gradients at")
    parser.add_argument("--b", type=float, default=0.1, help="the bias to take gradients at")
    return parser


# %% The graph: one input x, one target y, two parameters w and b.
X, Y = 2.0, 3.0


def loss_by_hand(w: float, b: float) -> tuple[float, dict[str, float]]:
    """Forward, then backward by the chain rule, one node at a time."""
    prediction = w * X + b  # node 1: the model
    error = prediction - Y  # node 2
    loss = error**2  # node 3: squared error
    d_loss_d_error = 2 * error  # derivative of node 3 w.r.t. its input
    d_error_d_prediction = 1.0  # node 2 is a shift
    d_prediction_d_w, d_prediction_d_b = X, 1.0  # node 1 is linear in w and b
    upstream = d_loss_d_error * d_error_d_prediction
    return loss, {"w": upstream * d_prediction_d_w, "b": upstream * d_prediction_d_b}


def loss_by_autograd(w: float, b: float) -> tuple[torch.Tensor, dict[str, float]]:
    w_t = torch.tensor(w, dtype=torch.float64, requires_grad=True)  # a parameter: track it
    b_t = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = (w_t * X + b_t - Y) ** 2
    loss.backward()  # fills .grad of every tensor that requires it
    return loss, {"w": w_t.grad.item(), "b": b_t.grad.item()}


def numeric_gradient(w: float, b: float, step: float = 1e-6) -> dict[str, float]:
    """Central differences: (f(w+h) - f(w-h)) / 2h; slow but needs no calculus."""
    def f(w_: float, b_: float) -> float:
        return loss_by_hand(w_, b_)[0]

    return {
        "w": (f(w + step, b) - f(w - step, b)) / (2 * step),
        "b": (f(w, b + step) - f(w, b - step)) / (2 * step),
    }


def graph_of(loss: torch.Tensor) -> list[str]:
    """The operations autograd recorded, from the loss back to the leaves."""
    names, node = [], loss.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        parents = [parent for parent, _ in node.next_functions if parent is not None]
        node = parents[0] if parents else None
    return names


def plot_tangent(w: float, b: float, slope: float, path) -> None:
    import matplotlib.pyplot as plt

    ws = torch.linspace(w - 2, w + 2, 100, dtype=torch.float64)
    losses = [(wi * X + b - Y) ** 2 for wi in ws.tolist()]
    here = loss_by_hand(w, b)[0]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ws, losses, label="loss(w), b fixed")
    ax.plot(ws, here + slope * (ws - w), "r--", label=f"tangent: slope = dL/dw = {slope:.2f}")
    ax.scatter([w], [here], color="red", zorder=3)
    step = -0.1 * slope  # gradient descent moves w against the slope, downhill
    ax.annotate("", xy=(w + step, here), xytext=(w, here),
                arrowprops={"arrowstyle": "->", "color": "green", "lw": 2})
    ax.text(w + step / 2, here + 1.5, "a step against the slope", color="green", ha="center")
    ax.set(title="A gradient is the slope of the loss", xlabel="w", ylabel="loss",
           ylim=(-1, max(losses)))
    ax.legend()
    save_figure(fig, path)


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    loss, by_hand = loss_by_hand(args.w, args.b)
    loss_t, by_autograd = loss_by_autograd(args.w, args.b)
    numeric = numeric_gradient(args.w, args.b)
    print(f"graph: loss = (w·x + b - y)², x={X}, y={Y}, w={args.w}, b={args.b}; loss = {loss:.6f}")
    print(f"autograd recorded (loss → leaves): {' → '.join(graph_of(loss_t))}")
    print(f"{'param':<6}{'by hand':>14}{'autograd':>14}{'numeric':>14}")
    for name in ("w", "b"):
        print(f"{name:<6}{by_hand[name]:>14.8f}{by_autograd[name]:>14.8f}{numeric[name]:>14.8f}")

    out = runs_dir(STAGE, LESSON, args.out)
    plot_tangent(args.w, args.b, by_autograd["w"], out / "gradient_is_slope.png")
    gap_autograd = max(abs(by_hand[k] - by_autograd[k]) for k in by_hand)
    gap_numeric = max(abs(by_hand[k] - numeric[k]) for k in by_hand)
    summary = LessonSummary(
        STAGE, LESSON, "tour",
        metrics={"max_diff_hand_vs_autograd": gap_autograd,
                 "max_diff_hand_vs_numeric": gap_numeric},
        outputs=[str(out / "gradient_is_slope.png")],
    )
    summary.check(f"hand-derived gradients equal autograd's (within {TOLERANCE:g})",
                  gap_autograd <= TOLERANCE)
    summary.check("finite differences agree (within 1e-5)", gap_numeric <= 1e-5)
    summary.check("the forward values agree", abs(loss - loss_t.item()) <= TOLERANCE)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
