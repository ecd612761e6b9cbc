"""Checks for exercise 5b.2: exact sparsity, by magnitude, kept values, the input untouched."""

from __future__ import annotations

from types import ModuleType

import torch

from common.checks import check, expect

SPARSITIES = (0.0, 0.3, 0.5, 0.9, 1.0)


def weight() -> torch.Tensor:
    values = torch.randn(16, 25, generator=torch.Generator().manual_seed(0))
    values[0, :4] = torch.tensor([-3.0, -2.5, 2.5, 0.0])  # large negatives must survive
    return values


def pruned(learner: ModuleType, sparsity: float) -> torch.Tensor:
    result = learner.prune_by_magnitude(weight(), sparsity)
    expect(isinstance(result, torch.Tensor) and result.shape == weight().shape,
           expected=f"a tensor of shape {tuple(weight().shape)}",
           seen=f"{type(result).__name__} {tuple(getattr(result, 'shape', ()))}")
    return result


@check("exactly round(sparsity × numel) entries become 0",
       hint="rank the entries by |w| and zero the first k = round(sparsity * w.numel()) of "
            "them (argsort or topk), instead of comparing with a quantile threshold")
def exact_count(learner: ModuleType) -> None:
    original_zeros = int((weight() == 0).sum())
    for sparsity in SPARSITIES:
        expected = max(round(sparsity * weight().numel()), original_zeros)
        zeros = int((pruned(learner, sparsity) == 0).sum())
        expect(zeros == expected, expected=f"{expected} zeros at sparsity {sparsity}",
               seen=f"{zeros}")


@check("the zeroed entries are the smallest in magnitude (|w|, not w)",
       hint="sort by weight.abs(): -3.0 is a large weight and must be kept")
def by_magnitude(learner: ModuleType) -> None:
    for sparsity in (0.3, 0.5, 0.9):
        result = pruned(learner, sparsity)
        removed = weight()[(result == 0) & (weight() != 0)].abs()
        kept = weight()[result != 0].abs()
        expect(removed.max() <= kept.min(), expected="every removed |w| <= every kept |w|",
               seen=f"removed up to {removed.max().item():.3f}, kept from "
                    f"{kept.min().item():.3f} at sparsity {sparsity}")


@check("the kept entries keep their values and the input is not modified",
       hint="clone the weight first (weight.detach().clone()) and zero entries of the copy")
def values_and_input(learner: ModuleType) -> None:
    original = weight()
    given = original.clone()
    result = learner.prune_by_magnitude(given, 0.5)
    expect(torch.equal(given, original), expected="the input tensor unchanged",
           seen="it was modified in place")
    kept = result != 0
    expect(torch.equal(result[kept], original[kept]), expected="kept entries unchanged",
           seen="some kept entries changed value")
