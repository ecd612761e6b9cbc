"""Where each dataset of the course is cached, and what a lesson falls back to without it.

``mlcourse doctor`` reads this to tell a learner which datasets are present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.paths import SHIPPED_DATA_DIR, cache_dir


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    marker: Path  # the file whose presence means "cached"
    fallback: str


def catalog() -> tuple[DatasetInfo, ...]:
    return (
        DatasetInfo(
            "mnist",
            "MNIST handwritten digits (stage 2), torchvision layout",
            SHIPPED_DATA_DIR / "MNIST" / "raw" / "train-images-idx3-ubyte",
            "digits-fallback: scikit-learn's 8x8 digits resized to 28x28",
        ),
        DatasetInfo(
            "sms-spam",
            "UCI SMS Spam Collection (stages 3-5)",
            cache_dir() / "sms_spam_collection" / "SMSSpamCollection",
            "the copy shipped in data/sms_spam_collection/ (the same file, checked by SHA-256)",
        ),
    )
