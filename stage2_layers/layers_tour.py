"""A tour of layers: nn.Linear, activations, why non-linearity matters, and gradient flow.

What a layer computes, what activations do to it, and how gradients flow — or vanish — through a
deep network.

Four short experiments, each printed, plotted and checked:
  1. ``nn.Linear`` is ``x·Wᵀ + b``; the shapes through an MNIST MLP, layer by layer.
  2. ReLU, sigmoid, tanh and GELU with their derivatives (from autograd, checked against algebra).
  3. Two moons: a linear model and a stack of Linear layers without activations both draw one
     straight boundary; the same stack with ReLU between the layers bends around the data.
  4. Per-layer gradient norms of a deep sigmoid net vs the same net with ReLU: vanishing gradients.

Run: ``python -m stage2_layers.layers_tour [--quick]``
"""

# %%
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from common.lesson import lesson_main, lesson_parser
from common.metrics import accuracy
from common.paths import runs_dir
from common.plots import save_figure
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import TensorBatches, fit
from stage2_layers.mlp import build_mlp, count_parameters, linear_layers

STAGE, LESSON = "stage2_layers", "layers_tour"
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ReLU": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "GELU": nn.functional.gelu,
}
MOONS_SAMPLES, MOONS_NOISE = 1000, 0.15
MOONS_EPOCHS, QUICK_MOONS_EPOCHS = 60, 30
MOONS_MLP_BAR, MOONS_LINEAR_CEILING = 0.95, 0.92  # the claims of experiment 3
DEEP_DEPTH, DEEP_WIDTH = 12, 64
# Claim of experiment 4: each sigmoid layer passes at most 0.25 of the gradient (its largest
# slope), so with depth d the first layer's gradient falls below 0.5**d of ReLU's; the bar
# follows DEEP_DEPTH, so the lesson holds for any depth a learner tries.
VANISHING_BASE = 0.5
RELU_SPREAD = 10.0  # ... while ReLU's layers stay within a factor of 10 of each other


# %% 1. A layer is a function: y = x·Wᵀ + b
def linear_layer_error(generator: torch.Generator) -> float:
    """Compare ``nn.Linear`` with the formula written out; returns the largest difference."""
    layer = nn.Linear(in_features=4, out_features=3)
    x = torch.randn(2, 4, generator=generator)  # a batch of 2 examples with 4 features each
    by_hand = x @ layer.weight.T + layer.bias  # (2, 4) @ (4, 3) + (3,) → (2, 3)
    print(f"nn.Linear(4, 3): x {tuple(x.shape)} · Wᵀ {tuple(layer.weight.T.shape)}"
          f" + b {tuple(layer.bias.shape)} → y {tuple(by_hand.shape)}")
    return (layer(x) - by_hand).abs().max().item()


def shape_walk(model: nn.Sequential, x: torch.Tensor) -> None:
    """Print what each layer does to the shape of a batch, and how many weights it holds."""
    print(f"{'layer':<54} {'output shape':<18} parameters")
    print(f"{'input':<54} {tuple(x.shape)!s:<18}")
    for layer in model:
        x = layer(x)
        print(f"{layer!s:<54} {tuple(x.shape)!s:<18} {count_parameters(layer):,}")


# %% 2. Activations and their derivatives
@dataclass
class Curve:
    values: torch.Tensor
    slopes: torch.Tensor  # d activation / dz, computed by autograd


def activation_curves(z: torch.Tensor) -> dict[str, Curve]:
    curves = {}
    for name, function in ACTIVATIONS.items():
        point = z.detach().clone().requires_grad_(True)
        values = function(point)
        values.sum().backward()  # each output depends only on its own input: grad = slope
        curves[name] = Curve(values.detach(), point.grad)
    return curves


def plot_activations(z: torch.Tensor, curves: dict[str, Curve], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, curve in curves.items():
        left.plot(z.numpy(), curve.values.numpy(), label=name)
        right.plot(z.numpy(), curve.slopes.numpy(), label=name)
    left.set(title="activation f(z)", xlabel="z")
    right.set(title="derivative f'(z): how much gradient passes", xlabel="z")
    right.axhline(0.25, color="grey", linestyle=":", label="0.25 = sigmoid's best")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    return save_figure(fig, path)


# %% 3. Why a non-linearity matters: two moons
@dataclass
class Moons:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def make_moons_data(seed: int) -> Moons:
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    points, labels = make_moons(MOONS_SAMPLES, noise=MOONS_NOISE, random_state=seed)
    parts = train_test_split(points, labels, test_size=0.25, random_state=seed, stratify=labels)
    x_train, x_test, y_train, y_test = (torch.tensor(part) for part in parts)
    return Moons(x_train.float(), y_train, x_test.float(), y_test)


def moons_models() -> dict[str, nn.Sequential]:
    return {
        "linear (one Linear)": build_mlp((), in_features=2, classes=2),
        "3 Linear, no activation": build_mlp((32, 32), in_features=2, classes=2,
                                             activation=nn.Identity),
        "3 Linear with ReLU": build_mlp((32, 32), in_features=2, classes=2),
    }


def train_on_moons(model: nn.Module, moons: Moons, epochs: int,
                   generator: torch.Generator) -> float:
    """Fit with the shared loop; returns accuracy on the held-out points."""
    batches = TensorBatches(moons.train_x, moons.train_y, batch_size=128, shuffle=True,
                            generator=generator)
    fit(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.01), batches,
        epochs=epochs, device=torch.device("cpu"), progress=False)
    model.eval()
    with torch.no_grad():
        return accuracy(moons.test_y, model(moons.test_x).argmax(dim=1))


def plot_boundaries(models: dict[str, nn.Module], scores: dict[str, float], moons: Moons,
                    path: Path) -> Path:
    import matplotlib.pyplot as plt

    points = torch.cat([moons.train_x, moons.test_x])
    labels = torch.cat([moons.train_y, moons.test_y]).numpy()
    low, high = points.min(dim=0).values - 0.5, points.max(dim=0).values + 0.5
    gx, gy = torch.meshgrid(torch.linspace(low[0], high[0], 200),
                            torch.linspace(low[1], high[1], 200), indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], dim=1)
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4))
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        with torch.no_grad():
            p_upper = model(grid).softmax(dim=1)[:, 1].reshape(gx.shape).numpy()
        ax.contourf(gx.numpy(), gy.numpy(), p_upper, levels=20, cmap="RdBu_r", alpha=0.5)
        ax.contour(gx.numpy(), gy.numpy(), p_upper, levels=[0.5], colors="k")
        ax.scatter(points[:, 0].numpy(), points[:, 1].numpy(), c=labels, cmap="RdBu_r", s=8,
                   edgecolors="none")
        ax.set(title=f"{name}\ntest accuracy {scores[name]:.2f}", xticks=[], yticks=[])
    return save_figure(fig, path)


# %% 4. Gradient flow: vanishing gradients
def vanishing_bar(depth: int) -> float:
    """The most of ReLU's first-layer gradient a sigmoid net of ``depth`` layers may keep."""
    return VANISHING_BASE**depth


def gradient_norms(activation: type[nn.Module], x: torch.Tensor, y: torch.Tensor, *,
                   depth: int = DEEP_DEPTH, width: int = DEEP_WIDTH, seed: int = 0) -> list[float]:
    """Norm of d(loss)/d(weight) for each Linear layer of a fresh deep net, input side first.

    Both nets get the same (He/Kaiming) initialisation, so only the activation differs.
    """
    torch.manual_seed(seed)
    model = build_mlp([width] * depth, in_features=x.shape[1], classes=10, activation=activation)
    for layer in linear_layers(model):
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
    nn.functional.cross_entropy(model(x), y).backward()
    return [layer.weight.grad.norm().item() for layer in linear_layers(model)]


def digits_batch(size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of scikit-learn's 8×8 digits, standardised: real inputs for the deep nets."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data[:size], dtype=torch.float32)
    x = (x - x.mean(dim=0)) / (x.std(dim=0) + 1e-6)
    return x, torch.tensor(digits.target[:size])


def plot_gradient_flow(norms: dict[str, list[float]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, values in norms.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", label=name)
    ax.set_yscale("log")
    ax.set(title=f"Gradient norm per layer, {DEEP_DEPTH} hidden layers of {DEEP_WIDTH}",
           xlabel="Linear layer (1 = next to the input)", ylabel="‖d loss / d W‖ (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save_figure(fig, path)


# %%
def build_parser() -> argparse.ArgumentParser:
    return lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)


def run(args: argparse.Namespace) -> LessonSummary:
    generator = seed_everything(args.seed)
    out = runs_dir(STAGE, LESSON, args.out)
    summary = LessonSummary(STAGE, LESSON, "tour", dataset="two-moons")
    outputs: list[Path] = []

    print("\n1. A layer is a function of its input and its weights")
    error = linear_layer_error(generator)
    summary.check(f"nn.Linear(x) equals x·Wᵀ + b (max difference {error:.1e})", error <= 1e-6)
    shape_walk(build_mlp(), torch.zeros(64, 1, 28, 28))

    print("\n2. Activations and their slopes")
    z = torch.linspace(-5, 5, 401)
    curves = activation_curves(z)
    sigmoid, tanh = curves["sigmoid"], curves["tanh"]
    for name, curve in curves.items():
        print(f"   {name:<8} largest slope {curve.slopes.max().item():.3f}")
    summary.check("autograd's sigmoid slope equals σ(z)·(1 − σ(z))", torch.allclose(
        sigmoid.slopes, sigmoid.values * (1 - sigmoid.values), atol=1e-6))
    summary.check("autograd's tanh slope equals 1 − tanh²(z)", torch.allclose(
        tanh.slopes, 1 - tanh.values**2, atol=1e-6))
    summary.check("sigmoid passes at most 0.25 of a gradient",
                  abs(sigmoid.slopes.max().item() - 0.25) < 1e-6)
    outputs.append(plot_activations(z, curves, out / "activations.png"))

    print("\n3. Why a non-linearity matters: two interleaved moons")
    moons = make_moons_data(args.seed)
    models = moons_models()
    epochs = QUICK_MOONS_EPOCHS if args.quick else MOONS_EPOCHS
    scores = {name: train_on_moons(model, moons, epochs, generator)
              for name, model in models.items()}
    for name, score in scores.items():
        print(f"   {name:<26} test accuracy {score:.3f}")
    linear_name, stacked_name, relu_name = models
    for name in (linear_name, stacked_name):
        summary.check(f"{name} stays at or below {MOONS_LINEAR_CEILING} (a straight boundary)",
                      scores[name] <= MOONS_LINEAR_CEILING)
    summary.check(f"{relu_name} reaches {MOONS_MLP_BAR} (a bent boundary)",
                  scores[relu_name] >= MOONS_MLP_BAR)
    outputs.append(plot_boundaries(models, scores, moons, out / "decision_boundaries.png"))

    print(f"\n4. Gradient flow through {DEEP_DEPTH} hidden layers")
    x, y = digits_batch()
    norms = {name: gradient_norms(activation, x, y, seed=args.seed)
             for name, activation in (("sigmoid", nn.Sigmoid), ("ReLU", nn.ReLU))}
    for name, values in norms.items():
        print(f"   {name:<8} first layer {values[0]:.2e}   last layer {values[-1]:.2e}")
    ratio = norms["sigmoid"][0] / norms["ReLU"][0]
    relu_spread = max(norms["ReLU"]) / min(norms["ReLU"])
    bar = vanishing_bar(DEEP_DEPTH)
    summary.check(f"sigmoid's first-layer gradient is < {VANISHING_BASE:g}^{DEEP_DEPTH} = "
                  f"{bar:.1e} of ReLU's ({ratio:.1e})", ratio < bar)
    summary.check(f"ReLU's layer gradients stay within a factor {RELU_SPREAD:g} "
                  f"({relu_spread:.1f})", relu_spread <= RELU_SPREAD)
    outputs.append(plot_gradient_flow(norms, out / "gradient_flow.png"))

    summary.metrics = {
        "relu_moons_accuracy": scores[relu_name],
        "linear_moons_accuracy": scores[linear_name],
        "stacked_linear_moons_accuracy": scores[stacked_name],
        "sigmoid_first_layer_grad": norms["sigmoid"][0],
        "relu_first_layer_grad": norms["ReLU"][0],
        "first_layer_grad_ratio": ratio,
    }
    summary.outputs = [str(path) for path in outputs]
    summary.extras = {"gradient_norms": norms, "deep_net": {"depth": DEEP_DEPTH,
                                                            "width": DEEP_WIDTH}}
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
