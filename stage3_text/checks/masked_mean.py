"""Checks for exercise 3.3: masked mean pooling ignores padding, in value and in gradient."""

from __future__ import annotations

from types import ModuleType

import torch

from common.checks import check, expect

IDS = torch.tensor([[4, 2, 7, 0, 0], [3, 0, 0, 0, 0], [5, 6, 1, 2, 9]])


def vectors() -> torch.Tensor:
    return torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(0))


def reference(values: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    rows = []
    for row, row_ids in zip(values, ids, strict=True):
        real = row[row_ids != 0]
        rows.append(real.mean(dim=0) if len(real) else torch.zeros(values.shape[-1]))
    return torch.stack(rows)


@check("equals the mean over the non-padding positions",
       hint="mask = (ids != 0); divide the masked sum by the number of real words per row, "
            "not by the padded length")
def equals_masked_mean(learner: ModuleType) -> None:
    out = learner.masked_mean(vectors(), IDS)
    expected = reference(vectors(), IDS)
    expect(isinstance(out, torch.Tensor) and out.shape == expected.shape,
           expected=f"shape {tuple(expected.shape)}", seen=f"{tuple(getattr(out, 'shape', ()))}")
    expect(torch.allclose(out, expected, atol=1e-6), expected="the mean of the real words",
           seen=f"a largest difference of {(out - expected).abs().max().item():.3g}")


@check("the vectors at padded positions change nothing",
       hint="multiply the vectors by the mask before summing, so padded rows add 0")
def padding_is_ignored(learner: ModuleType) -> None:
    noisy = vectors()
    noisy[IDS == 0] = 1e3
    change = (learner.masked_mean(noisy, IDS) - learner.masked_mean(vectors(), IDS)).abs().max()
    expect(change.item() <= 1e-5, expected="the same result whatever sits under the padding",
           seen=f"a change of {change.item():.3g}")


@check("a row that is all padding gives zeros, not NaN",
       hint="clamp the count of real words to at least 1 before dividing")
def all_padding_row(learner: ModuleType) -> None:
    ids = torch.zeros(2, 3, dtype=torch.long)
    ids[1, 0] = 3
    out = learner.masked_mean(torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(2)),
                              ids)
    expect(torch.isfinite(out).all().item() and torch.equal(out[0], torch.zeros(4)),
           expected="row 0 all zeros", seen=f"{out[0].tolist()}")


@check("no gradient flows to padded positions",
       hint="build the mask from ids (no gradient) and multiply by it")
def no_gradient_to_padding(learner: ModuleType) -> None:
    values = vectors().requires_grad_()
    learner.masked_mean(values, IDS).sum().backward()
    leaked = values.grad[IDS == 0].abs().max().item()
    expect(leaked == 0.0, expected="gradient 0 at every padded position",
           seen=f"up to {leaked:.3g}")
