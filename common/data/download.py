"""Download-and-cache with retries, mirrors, a checksum and an atomic write.

A file is written to a temporary name beside its destination and renamed only once complete and
verified, so an interrupted download never leaves a half-written file that looks cached.
Set ``MLCOURSE_OFFLINE=1`` to skip the network entirely (the tests do).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
USER_AGENT = "ml-roadmap/0.1 (+course downloader)"


class DownloadError(Exception):
    """Every mirror failed, or we are offline: callers fall back to data that is on disk."""


def offline() -> bool:
    return os.environ.get("MLCOURSE_OFFLINE", "").lower() in {"1", "true", "yes"}


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, checksum: str | None) -> bool:
    """``checksum`` is ``"<algorithm>:<hex>"`` (e.g. ``"sha256:7d03…"``, ``"md5:f68b…"``) or None."""
    if checksum is None:
        return True
    algorithm, _, expected = checksum.partition(":")
    return file_digest(path, algorithm) == expected.lower()


def _fetch(url: str, target: Path, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response, target.open("wb") as out:
        size = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=size, unit="B", unit_scale=True, desc=Path(url).name, disable=None) as bar:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                out.write(chunk)
                bar.update(len(chunk))


def _unresolvable(error: Exception) -> bool:
    return isinstance(error, urllib.error.URLError) and isinstance(error.reason, socket.gaierror)


def download(
    urls: Sequence[str],
    dest: Path,
    *,
    checksum: str | None = None,
    retries: int = 3,
    backoff_seconds: float = 1.0,
    timeout: float = 30.0,
    fetch: Callable[[str, Path, float], None] = _fetch,
) -> Path:
    """Return ``dest``, downloading it from the first mirror that works if it is not cached.

    Each mirror is tried ``retries`` times with a growing pause. A file whose checksum does not
    match counts as a failed attempt and is never kept.
    """
    if dest.exists() and verify(dest, checksum):
        return dest
    if offline():
        raise DownloadError(f"{dest.name} is not cached and MLCOURSE_OFFLINE is set")
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for url in urls:
        for attempt in range(1, retries + 1):
            handle, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
            os.close(handle)
            temp = Path(temp_name)
            try:
                fetch(url, temp, timeout)
                if not verify(temp, checksum):
                    raise DownloadError(f"checksum mismatch for {url}")
                shutil.move(temp, dest)  # atomic on one file system
                return dest
            except Exception as error:  # noqa: BLE001  (any failure means: try again, then fall back)
                errors.append(f"{url} (attempt {attempt}): {error}")
                if _unresolvable(error):
                    break  # no DNS (offline): retrying this host cannot help
            finally:
                temp.unlink(missing_ok=True)
            if attempt < retries:
                time.sleep(backoff_seconds * attempt)
    raise DownloadError(f"could not download {dest.name}; last error: {errors[-1]}")


def with_fallback(
    primary: Callable[[], T],
    fallback: Callable[[], T],
    *,
    announce: Callable[[str], None] = print,
) -> tuple[T, bool]:
    """Try ``primary`` (e.g. download the real dataset); on :class:`DownloadError` use ``fallback``.

    Returns the result and whether the fallback was taken; the reason is announced, never silent.
    """
    try:
        return primary(), False
    except DownloadError as error:
        announce(f"real dataset unavailable ({error}); using the offline fallback instead")
        return fallback(), True
