"""MNIST for stage 2: download or find it, read it through torchvision once, keep it in memory.

``load_digit_data(root)`` returns uint8 images and labels for a train and a test split:

* MNIST read by ``torchvision.datasets.MNIST`` from ``root/MNIST/raw/`` — a local copy, or one
  downloaded there with retries, mirrors and checksums (``common.data.download``);
* offline with no local copy, scikit-learn's 1,797 real handwritten 8×8 digits, resized the way
  MNIST was made (each digit fills a 20×20 box centred in a 28×28 frame), said plainly.

Training then normalises the whole set once (:func:`normalise`) and batches from tensors in
memory: no per-sample transform runs inside the training loop.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.datasets import MNIST

from common.data.download import download, with_fallback
from common.errors import UsageError

MNIST_NAME, FALLBACK_NAME = "mnist", "digits-fallback"
FALLBACK_TEST_FRACTION = 0.2
SPLIT_SEED = 0  # the test split is fixed, so runs with different --seed stay comparable


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor  # uint8, (n, 28, 28), 0 = background, 255 = ink
    labels: torch.Tensor  # int64, (n,), digits 0-9

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index])


@dataclass(frozen=True)
class DigitData:
    name: str  # "mnist" or "digits-fallback": the JSON ``dataset`` field
    source: str  # where the images came from, for people
    train: ImageSet
    test: ImageSet


# ---------------------------------------------------------------------------------- real MNIST
def raw_dir(root: Path) -> Path:
    """torchvision's layout: ``root/MNIST/raw/train-images-idx3-ubyte`` and friends."""
    return root / "MNIST" / "raw"


def raw_files() -> list[str]:
    """The four uncompressed IDX files torchvision reads (its resources list the .gz names)."""
    return [name.removesuffix(".gz") for name, _ in MNIST.resources]


def has_mnist(root: Path) -> bool:
    return all((raw_dir(root) / name).is_file() for name in raw_files())


def download_mnist(root: Path) -> None:
    """Fetch and unpack each missing file; raises ``DownloadError`` when every mirror fails."""
    folder = raw_dir(root)
    for archive, md5 in MNIST.resources:
        target = folder / archive.removesuffix(".gz")
        if target.is_file():
            continue
        packed = download([mirror + archive for mirror in MNIST.mirrors], folder / archive,
                          checksum=f"md5:{md5}")
        _gunzip(packed, target)


def _gunzip(source: Path, target: Path) -> None:
    """Unpack beside the target and rename at the end: an interruption leaves no half file."""
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out, gzip.open(source, "rb") as packed:
            shutil.copyfileobj(packed, out)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)


def read_mnist(root: Path) -> DigitData:
    """Read both splits through ``torchvision.datasets.MNIST`` (never downloads by itself)."""
    try:
        splits = [MNIST(str(root), train=train, download=False) for train in (True, False)]
    except (RuntimeError, AssertionError, ValueError, TypeError, KeyError) as error:
        raise UsageError(
            f"the MNIST files in {raw_dir(root)} are unreadable ({error or type(error).__name__});"
            " delete them to download afresh"
        ) from None
    train, test = (ImageSet(split.data, split.targets) for split in splits)
    return DigitData(MNIST_NAME, f"MNIST read by torchvision from {raw_dir(root)}", train, test)


def fetch_and_read_mnist(root: Path) -> DigitData:
    if not has_mnist(root):
        download_mnist(root)
    return read_mnist(root)


# ------------------------------------------------------------------------------ the fallback
def digits_as_mnist() -> DigitData:
    """scikit-learn's 8×8 digits (ink 0-16) as MNIST-like 28×28 uint8 images, split 80/20."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    small = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    # MNIST's digits fill a 20×20 box centred in a 28×28 frame: upsample, then pad 4 px a side.
    boxed = F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)
    images = (F.pad(boxed, (4, 4, 4, 4)).squeeze(1).clamp(0, 1) * 255).round().to(torch.uint8)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    train_index, test_index = train_test_split(
        np.arange(len(labels)), test_size=FALLBACK_TEST_FRACTION, stratify=digits.target,
        random_state=SPLIT_SEED,
    )
    return DigitData(
        FALLBACK_NAME,
        "scikit-learn's 1,797 handwritten 8x8 digits resized to 28x28 (offline fallback)",
        ImageSet(images[train_index], labels[train_index]),
        ImageSet(images[test_index], labels[test_index]),
    )


def load_digit_data(root: Path, announce: Callable[[str], None] = print) -> DigitData:
    """MNIST from ``root`` (downloading it there if needed and possible), else the fallback."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"--data-dir {root} is a file; it must be a folder (a torchvision root)")
    data, _ = with_fallback(lambda: fetch_and_read_mnist(root), digits_as_mnist,
                            announce=announce)
    return data


# -------------------------------------------------------------------------- preparing tensors
def pixel_stats(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of the pixels scaled to [0, 1] (MNIST's: 0.1307, 0.3081).

    Computed on the training images only: the test set must not leak into preprocessing.
    """
    scaled = images.float() / 255.0
    return scaled.mean().item(), scaled.std().item()


def normalise(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 (n, 28, 28) → float32 (n, 1, 28, 28), zero mean and unit spread: once, for all."""
    return ((images.float() / 255.0 - mean) / std).unsqueeze(1)


def train_val_split(
    data: ImageSet, val_fraction: float, seed: int = SPLIT_SEED
) -> tuple[ImageSet, ImageSet]:
    """A fixed random split of the training images into train and validation parts."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(len(data) * val_fraction))
    return data.subset(order[n_val:]), data.subset(order[:n_val])


# ------------------------------------------------------------------------------ writing IDX
def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format of MNIST: 0, 0, type 0x08 (uint8), the number of dims, big-endian dims."""
    data = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape)
    path.write_bytes(header + data.tobytes())


def write_mnist_raw(root: Path, data: DigitData) -> None:
    """Write ``data`` as the four raw files torchvision's MNIST reads from ``root``."""
    folder = raw_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, split in (("train", data.train), ("t10k", data.test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", split.images.numpy())
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", split.labels.numpy())
