"""Why stage 2 batches from memory: one training epoch fed three ways, timed side by side.

The same MLP (``mlp_mnist``'s default) trains for one epoch on at least 60,000 MNIST-format images:

  (a) the classic pipeline: ``torchvision.datasets.MNIST`` with ``ToTensor() + Normalize`` run
      per image, collated by a ``DataLoader`` (batch 64), with ``num_workers=0`` and ``2``;
  (b) this stage's path: images normalised once, shuffled batches cut from tensors in memory;
  (c) the compute floor: the same training steps over batches made before the clock starts.

(a)/(b) is what the in-memory path saves; (b)/(c) is what it still costs over pure compute.
Without MNIST on disk the images are generated: the offline digits, randomly shifted, scaled and
rotated, written as MNIST's IDX files and read back through torchvision like the real thing.

Run: ``python -m stage2_layers.bench_loading [--data-dir DIR] [--repeats 3] [--json]``
"""

# %%
from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import transforms
from torchvision.datasets import MNIST
from tqdm.auto import tqdm

from common.devices import pick_device
from common.errors import UsageError
from common.lesson import lesson_main, lesson_parser, non_negative_int, positive_int
from common.paths import SHIPPED_DATA_DIR, runs_dir
from common.plots import save_figure
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import Batch, TensorBatches, train_one_epoch
from stage2_layers.mlp import DEFAULT_DROPOUT, DEFAULT_HIDDEN, build_mlp
from stage2_layers.mnist_data import (
    MNIST_NAME,
    DigitData,
    ImageSet,
    digits_as_mnist,
    has_mnist,
    normalise,
    pixel_stats,
    read_mnist,
    write_mnist_raw,
)

STAGE, LESSON = "stage2_layers", "bench_loading"
GENERATED_NAME = "digits-augmented"
BATCH_SIZE, BENCH_IMAGES, QUICK_IMAGES, MIN_REPEATS = 64, 60_000, 6_000, 3
SPEEDUP_BAR, FLOOR_RATIO_BAR = 3.0, 1.3
PATHS = {
    "dataloader_workers0": "(a) DataLoader, per-image transforms, num_workers=0",
    "dataloader_workers2": "(a) DataLoader, per-image transforms, num_workers=2",
    "in_memory": "(b) in memory: normalised once, TensorBatches",
    "compute_floor": "(c) compute floor: batches made in advance",
}



def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=SHIPPED_DATA_DIR,
                        help="torchvision root; MNIST from DIR/MNIST/raw/ when it is there")
    parser.add_argument("--images", type=positive_int, default=BENCH_IMAGES,
                        help="training images in the timed epoch (--quick: 6,000)")
    parser.add_argument("--repeats", type=positive_int, default=MIN_REPEATS,
                        help="timed epochs per path; the median is reported (--quick: 1)")
    parser.add_argument("--threads", type=non_negative_int, default=1,
                        help="torch's CPU threads while timing; one core measures the pipelines "
                             "rather than the thread scheduler (0: torch's default)")
    return parser


# %% The images: real MNIST, or generated in its format
def augmented_digits(base: ImageSet, n: int, generator: torch.Generator) -> ImageSet:
    """``n`` random affine variants (±10°, ×0.85-1.15, ±2 px) of the ``base`` digits."""
    pick = torch.randint(len(base), (n,), generator=generator)
    angle = torch.empty(n).uniform_(-math.pi / 18, math.pi / 18, generator=generator)
    scale = torch.empty(n).uniform_(0.85, 1.15, generator=generator)
    shift = torch.empty(n, 2).uniform_(-0.15, 0.15, generator=generator)  # 1.0 = half the frame
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    images = base.images[pick].unsqueeze(1).float() / 255.0
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, align_corners=False).squeeze(1)
    return ImageSet((warped * 255).round().clamp(0, 255).to(torch.uint8), base.labels[pick])


def write_generated(root: Path, n: int, generator: torch.Generator) -> None:
    digits = digits_as_mnist()
    generated = augmented_digits(digits.train, n, generator)
    write_mnist_raw(root, DigitData(GENERATED_NAME, "augmented digits", generated, digits.test))


def classic_dataset(root: Path, n: int, mean: float, std: float) -> MNIST | Subset:
    """The textbook way: torchvision converts and normalises each image when it is asked for."""
    per_image = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    dataset = MNIST(str(root), train=True, download=False, transform=per_image)
    return dataset if n == len(dataset) else Subset(dataset, range(n))


# %% Timing one epoch
@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run with ``count`` intra-op threads (0 leaves torch's choice), then restore the setting."""
    previous = torch.get_num_threads()
    if count > 0:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_epoch(batches: Iterable[Batch], device: torch.device, seed: int) -> float:
    """Seconds for one training epoch of a freshly initialised model over ``batches``."""
    torch.manual_seed(seed)
    model = build_mlp(DEFAULT_HIDDEN, dropout=DEFAULT_DROPOUT).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    sync(device)
    started = time.perf_counter()
    train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, batches, device)
    sync(device)
    return time.perf_counter() - started


def make_feeds(root: Path, n: int, device: torch.device,
               generator: torch.Generator) -> tuple[dict[str, Iterable[Batch]], float]:
    """The four ways to feed an epoch, and the one-off seconds the in-memory path needs first."""
    train = read_mnist(root).train
    if n > len(train):
        raise UsageError(f"--images {n} is more than the {len(train)} images in {root}")
    images, labels = train.images[:n], train.labels[:n]
    mean, std = pixel_stats(images)
    classic = classic_dataset(root, n, mean, std)
    started = time.perf_counter()
    x, y = normalise(images, mean, std).to(device), labels.to(device)
    prepare_seconds = time.perf_counter() - started
    in_memory = TensorBatches(x, y, batch_size=BATCH_SIZE, shuffle=True, generator=generator)
    feeds: dict[str, Iterable[Batch]] = {
        name: DataLoader(classic, batch_size=BATCH_SIZE, shuffle=True, num_workers=workers,
                         generator=generator)
        for name, workers in (("dataloader_workers0", 0), ("dataloader_workers2", 2))
    }
    feeds["in_memory"] = in_memory
    feeds["compute_floor"] = list(in_memory)
    return feeds, prepare_seconds


def measure(feeds: dict[str, Iterable[Batch]], repeats: int, device: torch.device,
            seed: int) -> dict[str, list[float]]:
    """Seconds per epoch for each feed, ``repeats`` times."""
    runs: dict[str, list[float]] = {name: [] for name in feeds}
    with tqdm(total=repeats * len(feeds), desc=LESSON, unit="epoch", disable=None) as bar:
        for _ in range(repeats):  # interleaved, so a busy moment hits every path alike
            for name, batches in feeds.items():
                runs[name].append(timed_epoch(batches, device, seed))
                bar.update()
    return runs


def plot_medians(medians: dict[str, float], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    labels = [PATHS[name] for name in medians]
    ax.barh(labels, list(medians.values()), color=["#c44", "#e88", "#48c", "#999"])
    ax.invert_yaxis()
    ax.set(title="One training epoch, median seconds", xlabel="seconds")
    for index, seconds in enumerate(medians.values()):
        ax.text(seconds, index, f" {seconds:.2f} s", va="center")
    ax.margins(x=0.15)
    return save_figure(fig, path)


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    generator = seed_everything(args.seed)
    device = pick_device(args.device)
    n = QUICK_IMAGES if args.quick else args.images
    repeats = 1 if args.quick else args.repeats

    with torch_threads(args.threads), tempfile.TemporaryDirectory(prefix="mlcourse-") as scratch:
        if has_mnist(args.data_dir):
            root, dataset = args.data_dir, MNIST_NAME
        else:
            root, dataset = Path(scratch), GENERATED_NAME
            print(f"no MNIST in {args.data_dir}: generating {n:,} MNIST-format images "
                  "from the offline digits (shifted, scaled, rotated)")
            write_generated(root, n, generator)
        feeds, prepare_seconds = make_feeds(root, n, device, generator)
        threads = torch.get_num_threads()
        print(f"dataset: {dataset}, {n:,} images, batch {BATCH_SIZE}, device {device}, "
              f"{threads} torch thread(s), {repeats} repeat(s)")
        runs = measure(feeds, repeats, device, args.seed)

    medians = {name: statistics.median(seconds) for name, seconds in runs.items()}
    floor = medians["compute_floor"]
    print(f"\n{'path':<56} {'median s':>9} {'× floor':>8}   runs (s)")
    for name, seconds in medians.items():
        shown = " ".join(f"{value:.2f}" for value in runs[name])
        print(f"{PATHS[name]:<56} {seconds:>9.2f} {seconds / floor:>8.2f}   {shown}")
    print(f"one-off preparation of the in-memory path (normalise {n:,} images): "
          f"{prepare_seconds:.2f} s")

    speedup = medians["dataloader_workers0"] / medians["in_memory"]
    floor_ratio = medians["in_memory"] / floor
    out = runs_dir(STAGE, LESSON, args.out)
    summary = LessonSummary(
        STAGE, LESSON, "bench", dataset=dataset,
        metrics={
            "speedup_vs_dataloader": speedup,
            "ratio_to_compute_floor": floor_ratio,
            "speedup_vs_dataloader_workers2": medians["dataloader_workers2"] / medians["in_memory"],
            **{f"seconds_{name}": seconds for name, seconds in medians.items()},
            "seconds_prepare_in_memory": prepare_seconds,
        },
        outputs=[str(plot_medians(medians, out / "bench_loading.png"))],
        extras={"runs": runs, "images": n, "batch_size": BATCH_SIZE, "repeats": repeats,
                "threads": threads, "device": str(device)},
    )
    summary.check(f"in memory is >= {SPEEDUP_BAR:g}x faster than the DataLoader ({speedup:.2f}x)",
                  speedup >= SPEEDUP_BAR)
    summary.check(f"in memory is within {FLOOR_RATIO_BAR:g}x of the compute floor "
                  f"({floor_ratio:.2f}x)", floor_ratio <= FLOOR_RATIO_BAR)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
