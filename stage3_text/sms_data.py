"""The SMS messages of stage 3: the UCI SMS Spam Collection, or the small set this project ships.

Where the data comes from, in order:
  1. ``--data PATH``: a local file in the collection's format (``label<TAB>text`` per line);
  2. the cached UCI download (``common.paths.cache_dir()/sms_spam_collection/SMSSpamCollection``);
  3. online: the UCI zip, downloaded with retries and a mirror, its member checked by SHA-256;
  4. offline: ``data/sms_messages.tsv``, a few hundred SMS-style messages in English and Russian
     written for this project (same format), so every lesson and test runs without a network.

The split is the one every figure of the course is measured on: drop exact duplicate texts first
(the collection has 403; left in, copies of one message land on both sides and the test set
leaks), then a stratified 80/20 train/test split, then validation taken out of the training part.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from common.bundle.files import sha256_file
from common.data.download import DownloadError, download, with_fallback
from common.errors import UsageError
from common.paths import SHIPPED_DATA_DIR, cache_dir

LABELS = ("ham", "spam")  # class ids 0 and 1: spam is the positive class
POSITIVE_LABEL = "spam"
SHIPPED_PATH = SHIPPED_DATA_DIR / "sms_messages.tsv"
MEMBER = "SMSSpamCollection"
UCI_URLS = (
    "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00228/smsspamcollection.zip",
)
# SHA-256 of the collection file itself (the zip's bytes differ between the two mirrors).
COLLECTION_SHA256 = "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"
COLLECTION_NAME, SHIPPED_NAME, OTHER_FILE_NAME = "sms-spam-collection", "sms-shipped", "sms-file"
TEST_SIZE = 0.2


@dataclass
class SmsDataset:
    """Messages as a frame with columns ``label`` (``ham``/``spam``) and ``text``."""

    frame: pd.DataFrame
    name: str  # "sms-spam-collection", "sms-shipped", or "sms-file" for any other --data file
    source: Path


@dataclass
class SmsSplit:
    """Train/validation/test frames after deduplication; ``train_full`` = train + validation."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    train_full: pd.DataFrame
    duplicates_dropped: int


def collection_cache_path() -> Path:
    return cache_dir() / "sms_spam_collection" / MEMBER


def read_sms_file(path: Path) -> pd.DataFrame:
    """Parse ``label<TAB>text`` lines; blank lines are skipped, anything else malformed is an error.

    The file is read line by line rather than with ``pd.read_csv``: SMS texts contain quotes that a
    CSV reader would treat as field delimiters and silently merge lines.
    """
    if not path.is_file():
        raise UsageError(f"SMS data file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text (expected label<TAB>text lines)") from None
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label, tab, message = line.partition("\t")
        if not tab or label not in LABELS or "\x00" in line:
            shown = line[:40].encode("unicode_escape").decode("ascii")
            raise UsageError(f"{path}, line {number}: expected 'ham<TAB>text' or 'spam<TAB>text', "
                             f"got {shown!r}")
        rows.append((label, message))
    if not rows:
        raise UsageError(f"{path} holds no messages (expected label<TAB>text lines)")
    frame = pd.DataFrame(rows, columns=["label", "text"])
    missing = [label for label in LABELS if label not in set(frame["label"])]
    if missing:
        raise UsageError(f"{path} has no '{missing[0]}' messages; both ham and spam are needed")
    return frame


def _fetch_collection() -> Path:
    """Download the UCI zip (retries, mirror) and extract the collection, verified, atomically."""
    target = collection_cache_path()
    if target.is_file() and sha256_file(target) == COLLECTION_SHA256:
        return target
    archive = download(UCI_URLS, target.parent / "smsspamcollection.zip")
    try:
        with zipfile.ZipFile(archive) as bundle:
            payload = bundle.read(MEMBER)
    except (zipfile.BadZipFile, KeyError) as error:
        archive.unlink(missing_ok=True)
        raise DownloadError(f"the UCI archive is unusable: {error}") from None
    if hashlib.sha256(payload).hexdigest() != COLLECTION_SHA256:
        archive.unlink(missing_ok=True)
        raise DownloadError("the extracted SMSSpamCollection does not match its checksum")
    partial = target.with_name(f".{MEMBER}.partial")
    partial.write_bytes(payload)
    partial.replace(target)
    return target


def _name_of(path: Path) -> str:
    if path.resolve() == SHIPPED_PATH.resolve():
        return SHIPPED_NAME
    return COLLECTION_NAME if sha256_file(path) == COLLECTION_SHA256 else OTHER_FILE_NAME


def load_sms(data: str | Path | None = None, *, announce: Callable[[str], None] = print
             ) -> SmsDataset:
    """The messages from ``data`` if given, else the real collection, else the shipped set."""
    if data is not None:
        path = Path(data)
    else:
        path, _ = with_fallback(_fetch_collection, lambda: SHIPPED_PATH, announce=announce)
    frame = read_sms_file(path)
    name = _name_of(path)
    counts = frame["label"].value_counts()
    announce(f"dataset: {name} ({path}): {len(frame)} messages, "
             f"{counts.get('spam', 0)} spam, {counts.get('ham', 0)} ham")
    return SmsDataset(frame, name, path)


def split_sms(frame: pd.DataFrame, seed: int, *, val_fraction: float = 0.1) -> SmsSplit:
    """Deduplicate, then stratified 80/20 train/test, then validation out of the training part.

    Exactly ``drop_duplicates("text", keep="first")`` then ``train_test_split(test_size=0.2,
    stratify=label, random_state=seed)``: the published baseline figures depend on it.
    """
    unique = frame.drop_duplicates("text", keep="first")
    try:
        train_full, test = train_test_split(unique, test_size=TEST_SIZE, stratify=unique["label"],
                                            random_state=seed)
        train, val = train_test_split(train_full, test_size=val_fraction,
                                      stratify=train_full["label"], random_state=seed)
    except ValueError as error:  # too few messages of a class to stratify
        raise UsageError(f"cannot split {len(unique)} unique messages: {error}") from None
    return SmsSplit(train, val, test, train_full, len(frame) - len(unique))


def label_ids(frame: pd.DataFrame) -> list[int]:
    """Class ids in the order of :data:`LABELS` (ham 0, spam 1)."""
    return [LABELS.index(label) for label in frame["label"]]
