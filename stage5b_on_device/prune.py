"""Magnitude pruning: set the smallest weights to zero, and see what it buys and what it costs.

``torch.nn.utils.prune.l1_unstructured`` zeroes the given share of each embedding table and
Linear weight (the smallest by absolute value). It works through a mask: the module keeps
``weight_orig`` and ``weight_mask`` and recomputes ``weight = weight_orig * weight_mask`` before
each forward, so a short fine-tune on the bundle's train split lets the surviving weights make up
for the lost ones while the zeros stay zero. ``prune.remove`` then makes it permanent: a plain
``weight`` with zeros in it, and a state dict with the original keys.

What it does *not* do: make the model smaller or faster by itself. A dense file stores a zero in
four bytes like any other number; only compression (gzip, an app store's download) or sparse
kernels turn zeros into savings. The table shows both sizes.

A ham/spam bundle with a small test split is judged on the SMS Spam Collection shipped in
``data/sms_spam_collection/`` (see ``stage5b_on_device.workload``)::

    python -m stage5b_on_device.prune --bundle runs/stage4_own_data/bundles/SMSSpamCollection
"""

# %%
from __future__ import annotations

import argparse
import copy
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn.utils import prune

from common.devices import pick_device
from common.lesson import lesson_main, lesson_parser, positive_float, positive_int
from common.paths import runs_dir
from common.plots import save_figure
from common.seed import seed_everything
from common.summary import LessonSummary
from common.weights import save_safetensors
from stage3_text.classifier import TrainingConfig, train_classifier
from stage5b_on_device.measure import gzip_bytes, human_bytes, markdown_table, size_bytes
from stage5b_on_device.workload import Workload, add_workload_args, load_workload, torch_runner

STAGE, LESSON = "stage5b_on_device", "prune"
SPARSITIES = (0.3, 0.5, 0.7, 0.9)
QUICK_SPARSITIES = (0.5, 0.9)
BAR_SPARSITY = 0.5
MAX_METRIC_DROP = 0.01  # one point of F1, after the fine-tune


@dataclass
class Pruned:
    sparsity: float
    metric: float
    metric_finetuned: float
    zeros: float  # measured share of zeros over the pruned tensors, after the fine-tune
    file_bytes: int
    gzip_bytes: int
    path: Path


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], epochs=3)
    add_workload_args(parser)
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="fine-tune learning rate")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    return parser


# %%
def prunable(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """Every embedding table and Linear weight: all the parameters but the biases."""
    return [(m, "weight") for m in model.modules() if isinstance(m, (nn.Embedding, nn.Linear))]


def prune_by_magnitude(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy with the ``sparsity`` share of each weight masked to zero (smallest |w| first)."""
    pruned = copy.deepcopy(model)
    for module, name in prunable(pruned):
        prune.l1_unstructured(module, name, amount=sparsity)
    return pruned


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold each mask into its weight and drop ``weight_orig``/``weight_mask``."""
    for module, name in prunable(model):
        prune.remove(module, name)
    return model


def zero_share(model: nn.Module) -> float:
    weights = [module.weight for module, _ in prunable(model)]
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


def fine_tune(model: nn.Module, workload: Workload, args: argparse.Namespace,
              generator: torch.Generator) -> None:
    """A few epochs on the bundle's train split (masks attached: zeros stay zero)."""
    train, val = workload.split("train"), workload.split("val")
    epochs = 1 if args.quick else args.epochs
    config = TrainingConfig(epochs=epochs, lr=args.lr, batch_size=args.batch_size,
                            patience=epochs)
    train_classifier(model, workload.loaded.encoder, (train.texts, train.labels.tolist()),
                     (val.texts, val.labels.tolist()), config, generator=generator,
                     device=pick_device(args.device))
    model.cpu().eval()


def plot_quality(baseline: float, rows: list[Pruned], metric: str, path: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    shares = [r.sparsity for r in rows]
    left.plot(shares, [r.metric for r in rows], marker="o", label="pruned")
    left.plot(shares, [r.metric_finetuned for r in rows], marker="o", label="pruned + fine-tune")
    left.axhline(baseline, color="grey", linestyle="--", label="unpruned")
    left.set(title=f"{metric} vs sparsity", xlabel="share of weights set to zero", ylabel=metric)
    left.legend()
    right.plot(shares, [r.file_bytes / 1024 for r in rows], marker="o", label="file (dense)")
    right.plot(shares, [r.gzip_bytes / 1024 for r in rows], marker="o", label="gzip")
    right.set(title="size vs sparsity", xlabel="share of weights set to zero", ylabel="KB")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return save_figure(fig, path)


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    out = runs_dir(STAGE, LESSON, args.out)
    generator = seed_everything(args.seed)
    workload = load_workload(args)
    metric = workload.metric_name
    baseline = workload.reference.quality[metric]
    dense = save_safetensors(workload.model, out / "model.sparsity-0.safetensors")
    keys = set(workload.model.state_dict())

    rows, permanent = [], True
    for sparsity in QUICK_SPARSITIES if args.quick else SPARSITIES:
        print(f"\nsparsity {sparsity:.0%}")
        pruned = prune_by_magnitude(workload.model, sparsity)
        before = workload.judge(torch_runner(pruned)).quality[metric]
        fine_tune(pruned, workload, args, generator)
        make_permanent(pruned)
        permanent &= set(pruned.state_dict()) == keys
        path = save_safetensors(pruned, out / f"model.sparsity-{round(sparsity * 100)}.safetensors")
        rows.append(Pruned(sparsity, before, workload.judge(torch_runner(pruned)).quality[metric],
                           zero_share(pruned), size_bytes(path), gzip_bytes(path), path))

    print()
    print(markdown_table(
        ("sparsity", "zeros", metric, f"{metric} after fine-tune", "file", "gzip"),
        [("0% (fp32)", f"{zero_share(workload.model):.1%}", baseline, None,
          human_bytes(size_bytes(dense)), human_bytes(gzip_bytes(dense)))]
        + [(f"{r.sparsity:.0%}", f"{r.zeros:.1%}", r.metric, r.metric_finetuned,
            human_bytes(r.file_bytes), human_bytes(r.gzip_bytes)) for r in rows]))
    plot = plot_quality(baseline, rows, metric, out / "prune_quality.png")

    summary = LessonSummary(
        STAGE, LESSON, "tool", dataset=workload.eval_set.name,
        metrics={f"{metric}_unpruned": baseline,
                 **{f"{metric}_sparsity_{round(r.sparsity * 100)}_finetuned": r.metric_finetuned
                    for r in rows},
                 **{f"{metric}_sparsity_{round(r.sparsity * 100)}": r.metric for r in rows},
                 "eval_texts": float(len(workload.eval_set))},
        outputs=[str(plot), str(dense), *(str(r.path) for r in rows)],
        extras={"sparsities": [{"sparsity": r.sparsity, "zeros": r.zeros, metric: r.metric,
                                f"{metric}_finetuned": r.metric_finetuned,
                                "file_bytes": r.file_bytes, "gzip_bytes": r.gzip_bytes}
                               for r in rows],
                "quality_bars_checked": workload.bars_apply},
    )
    summary.check("pruning made permanent: the state dict has its original keys", permanent)
    summary.check("each pruned model has at least its sparsity in zeros after the fine-tune",
                  all(r.zeros >= r.sparsity - 1e-3 for r in rows))
    summary.check("zeros do not shrink the dense file",
                  all(r.file_bytes == size_bytes(dense) for r in rows))
    summary.check("zeros shrink the gzip file, more with more sparsity",
                  all(a.gzip_bytes > b.gzip_bytes for a, b in itertools.pairwise(rows))
                  and rows[0].gzip_bytes < gzip_bytes(dense))
    half = next((r for r in rows if r.sparsity == BAR_SPARSITY), None)
    if workload.bars_apply and half is not None:
        drop = baseline - half.metric_finetuned
        summary.check(f"50% pruning + fine-tune: {metric} drop {drop * 100:.2f} points <= "
                      f"{MAX_METRIC_DROP * 100:g}", drop <= MAX_METRIC_DROP)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
