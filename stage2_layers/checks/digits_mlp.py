"""Checks for exercise 2.2: shapes, non-linearity, size, and accuracy on the offline digits."""

from __future__ import annotations

from functools import cache
from types import ModuleType

import torch
from torch import nn

from common.checks import check, expect
from common.metrics import accuracy
from common.training import TensorBatches, fit
from stage2_layers.mnist_data import digits_as_mnist, normalise, pixel_stats

ACCURACY_BAR, EPOCHS, MAX_PARAMETERS = 0.95, 8, 500_000


@cache
def digit_tensors() -> tuple[torch.Tensor, ...]:
    data = digits_as_mnist()
    mean, std = pixel_stats(data.train.images)
    return (normalise(data.train.images, mean, std), data.train.labels,
            normalise(data.test.images, mean, std), data.test.labels)


def fresh_model(learner: ModuleType) -> nn.Module:
    torch.manual_seed(0)
    model = learner.build_mlp()
    expect(isinstance(model, nn.Module), expected="an nn.Module",
           seen=f"{type(model).__name__}")
    return model


@check("maps [n, 1, 28, 28] images to [n, 10] logits",
       hint="start with nn.Flatten() (or x.flatten(1)) and end with nn.Linear(..., 10)")
def shapes(learner: ModuleType) -> None:
    out = fresh_model(learner)(torch.zeros(5, 1, 28, 28))
    expect(isinstance(out, torch.Tensor) and tuple(out.shape) == (5, 10),
           expected="shape (5, 10)", seen=f"{tuple(getattr(out, 'shape', ()))}")


@check("is not a linear function of its input",
       hint="stacked Linear layers without an activation are one Linear layer: put nn.ReLU() "
            "between them")
def not_linear(learner: ModuleType) -> None:
    model = fresh_model(learner).eval()
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 1, 28, 28, generator=generator).unbind(0)
    with torch.no_grad():
        ends = model(torch.stack([a, b]))
        middle = model(((a + b) / 2).unsqueeze(0))[0]
    gap = (middle - ends.mean(dim=0)).abs().max().item()
    expect(gap > 1e-4, expected="f((a+b)/2) different from (f(a)+f(b))/2 for some inputs",
           seen=f"equal within {gap:.1e}: the model is linear (affine)")


@check(f"has at most {MAX_PARAMETERS:,} parameters",
       hint="a hidden layer of 128 units is plenty here (about 100,000 parameters)")
def small_enough(learner: ModuleType) -> None:
    count = sum(p.numel() for p in fresh_model(learner).parameters())
    expect(count <= MAX_PARAMETERS, expected=f"<= {MAX_PARAMETERS:,}", seen=f"{count:,}")


@check(f"reaches test accuracy >= {ACCURACY_BAR} on the offline digits",
       hint="no activation after the last layer (CrossEntropyLoss takes logits), a hidden "
            "layer of 64-256 units and a ReLU after it")
def reaches_accuracy(learner: ModuleType) -> None:
    train_x, train_y, test_x, test_y = digit_tensors()
    model = fresh_model(learner)
    generator = torch.Generator().manual_seed(0)
    fit(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-3),
        TensorBatches(train_x, train_y, batch_size=64, shuffle=True, generator=generator),
        epochs=EPOCHS, device=torch.device("cpu"), progress=False)
    model.eval()
    with torch.no_grad():
        score = accuracy(test_y.tolist(), model(test_x).argmax(dim=1).tolist())
    expect(score >= ACCURACY_BAR, expected=f"test accuracy >= {ACCURACY_BAR}",
           seen=f"{score:.3f} after {EPOCHS} epochs")
