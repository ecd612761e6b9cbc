"""The SMS messages of stage 3: the UCI SMS Spam Collection, shipped with the project.

Where the data comes from, in order:
  1. ``--data PATH``: a local file in the collection's format (``label<TAB>text`` per line; a
     ``.gz`` file is decompressed first);
  2. the cached UCI download (``common.paths.cache_dir()/sms_spam_collection/SMSSpamCollection``);
  3. the copy this project ships, ``data/sms_spam_collection/SMSSpamCollection.gz`` (CC BY 4.0,
     T. A. Almeida and J. M. Gómez Hidalgo; see that folder's README), checked by SHA-256;
  4. only if that copy is missing or corrupt: the UCI zip, downloaded with retries and a mirror,
     its member checked by SHA-256;
  5. only if that fails too (offline): ``data/sms_messages.tsv``, a few hundred SMS-style messages
     in English and Russian written for this project (the behavioural tests and the Russian
     examples use them), said plainly in the output.

The split is the one every figure of the course is measured on: drop exact duplicate texts first
(the collection has 403; left in, copies of one message land on both sides and the test set
leaks), then a stratified 80/20 train/test split, then validation taken out of the training part.
"""

from __future__ import annotations

import gzip
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
from common.paths import PROJECT_ROOT, SHIPPED_DATA_DIR, cache_dir

LABELS = ("ham", "spam")  # class ids 0 and 1: spam is the positive class
POSITIVE_LABEL = "spam"
MEMBER = "SMSSpamCollection"
SHIPPED_COLLECTION_PATH = SHIPPED_DATA_DIR / "sms_spam_collection" / f"{MEMBER}.gz"
WRITTEN_PATH = SHIPPED_DATA_DIR / "sms_messages.tsv"  # the EN/RU messages written for the course
UCI_URLS = (
    "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00228/smsspamcollection.zip",
)
# SHA-256 of the collection file itself (the zip's bytes differ between the two mirrors).
COLLECTION_SHA256 = "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"
COLLECTION_NAME, WRITTEN_NAME, OTHER_FILE_NAME = "sms-spam-collection", "sms-written", "sms-file"
TEST_SIZE = 0.2


@dataclass
class SmsDataset:
    """Messages as a frame with columns ``label`` (``ham``/``spam``) and ``text``."""

    frame: pd.DataFrame
    name: str  # "sms-spam-collection", "sms-written" (the EN/RU set), or "sms-file" for others
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
    return parse_sms_text(_decoded_text(path, _file_bytes(path)), path)


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when its name ends in ``.gz``."""
    if not path.is_file():
        raise UsageError(f"SMS data file not found: {path}")
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as error:
        raise UsageError(f"{path} is not a readable gzip file: {error}") from None


def _decoded_text(path: Path, payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text (expected label<TAB>text lines)") from None


def parse_sms_text(text: str, path: Path) -> pd.DataFrame:
    """The messages of one file's text; ``path`` names it in error messages."""
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


def _collection_path(announce: Callable[[str], None]) -> Path:
    """The cached UCI download if valid, else the shipped copy if valid, else a fresh download."""
    cached = collection_cache_path()
    if cached.is_file() and sha256_file(cached) == COLLECTION_SHA256:
        return cached
    if _shipped_copy_intact():
        return SHIPPED_COLLECTION_PATH
    announce(f"the shipped copy {display_path(SHIPPED_COLLECTION_PATH)} is missing or corrupt; "
             "downloading the collection from UCI")
    return _fetch_collection()


def _shipped_copy_intact() -> bool:
    try:
        return _sha256(gzip.decompress(SHIPPED_COLLECTION_PATH.read_bytes())) == COLLECTION_SHA256
    except (OSError, EOFError):
        return False


def _fetch_collection() -> Path:
    """Download the UCI zip (retries, mirror) and extract the collection, verified, atomically."""
    target = collection_cache_path()
    archive = download(UCI_URLS, target.parent / "smsspamcollection.zip")
    try:
        with zipfile.ZipFile(archive) as bundle:
            payload = bundle.read(MEMBER)
    except (zipfile.BadZipFile, KeyError) as error:
        archive.unlink(missing_ok=True)
        raise DownloadError(f"the UCI archive is unusable: {error}") from None
    if _sha256(payload) != COLLECTION_SHA256:
        archive.unlink(missing_ok=True)
        raise DownloadError("the extracted SMSSpamCollection does not match its checksum")
    partial = target.with_name(f".{MEMBER}.partial")
    partial.write_bytes(payload)
    partial.replace(target)
    return target


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def load_sms(data: str | Path | None = None, *, announce: Callable[[str], None] = print
             ) -> SmsDataset:
    """The messages from ``data`` if given, else the real collection, else the written set."""
    if data is not None:
        path = Path(data)
    else:
        path, _ = with_fallback(lambda: _collection_path(announce), lambda: WRITTEN_PATH,
                                announce=announce)
    payload = _file_bytes(path)
    frame = parse_sms_text(_decoded_text(path, payload), path)
    if _sha256(payload) == COLLECTION_SHA256:
        name = COLLECTION_NAME
    else:
        name = WRITTEN_NAME if path.resolve() == WRITTEN_PATH.resolve() else OTHER_FILE_NAME
    counts = frame["label"].value_counts()
    announce(f"dataset: {name} ({display_path(path)}): {len(frame)} messages, "
             f"{counts.get('spam', 0)} spam, {counts.get('ham', 0)} ham")
    return SmsDataset(frame, name, path)


def display_path(path: Path) -> str:
    """A path relative to the project when it lies inside it (as the guides write it)."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


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
