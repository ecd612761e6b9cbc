"""A folder that checks itself: ``SHA256SUMS`` in the format of ``sha256sum``.

One line per regular file of the folder (``SHA256SUMS`` itself excepted), sorted by path::

    <64 lowercase hex digits><two spaces><path relative to the folder, with />

and nothing else, so ``sha256sum -c SHA256SUMS`` checks it from a shell, the offline app checks
it at start and the web app checks it in the browser (``crypto.subtle.digest``). A changed,
missing, unlisted or extra file, or a changed ``SHA256SUMS``, is refused with one line.

Standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path

from common.bundle.files import sha256_file
from common.errors import UsageError

SUMS = "SHA256SUMS"
_LINE = re.compile(r"([0-9a-f]{64})  ([^\n]+)")


def listed_files(root: Path) -> list[str]:
    """Every regular file under ``root`` except ``SHA256SUMS``, as sorted POSIX paths."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*")
                  if path.is_file() and path != root / SUMS)


def write_sha256sums(root: Path) -> Path:
    """(Re)write ``root/SHA256SUMS`` for the files there now; call it after the last write."""
    root = Path(root)
    lines = [f"{sha256_file(root / name)}  {name}\n" for name in listed_files(root)]
    target = root / SUMS
    staged = target.with_name(f".{SUMS}.tmp")
    staged.write_text("".join(lines), encoding="utf-8", newline="\n")
    staged.replace(target)
    return target


def read_sha256sums(root: Path) -> dict[str, str]:
    """``{path: sha256}`` of ``root/SHA256SUMS``; a malformed file is a :class:`UsageError`."""
    path = Path(root) / SUMS
    if not path.is_file():
        raise UsageError(f"{root} has no {SUMS}: it cannot be checked (export it again)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text: the folder cannot be trusted") from None
    lines = text.split("\n")
    if lines[-1] != "" or len(lines) < 2:
        raise UsageError(f"{path} must be one line per file, each ending in a newline")
    sums: dict[str, str] = {}
    for number, line in enumerate(lines[:-1], start=1):
        match = _LINE.fullmatch(line)
        if match is None:
            raise UsageError(f"{path}: line {number} is not '<sha256>  <path>'")
        sums[match.group(2)] = match.group(1)
    if list(sums) != sorted(set(sums)) or len(sums) != len(lines) - 1:
        raise UsageError(f"{path}: paths must be sorted and listed once each")
    return sums


def verify_sha256sums(root: Path) -> None:
    """Raise :class:`UsageError` (one line) unless every file matches ``SHA256SUMS`` exactly."""
    root = Path(root)
    sums = read_sha256sums(root)
    present = listed_files(root)
    missing = sorted(set(sums) - set(present))
    if missing:
        raise UsageError(f"{root}: {missing[0]} is listed in {SUMS} but missing "
                         f"({len(missing)} missing in all)")
    extra = sorted(set(present) - set(sums))
    if extra:
        raise UsageError(f"{root}: {extra[0]} is not listed in {SUMS} "
                         f"({len(extra)} unlisted in all); the folder was changed")
    for name, expected in sums.items():
        if sha256_file(root / name) != expected:
            raise UsageError(f"{root}: {name} does not match its sha256 in {SUMS}: "
                             "the file was changed or is corrupt (export the folder again)")
