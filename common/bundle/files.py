"""Writing files and folders so that nobody — a reader, a crash, a signal — sees half of one.

* :func:`sha256_file`, :func:`describe_file`: the checksum entries of a manifest.
* :func:`canonical_json`: the one byte form of a JSON value that checksums are taken over.
* :func:`write_json_atomically`: a sibling temporary file, flushed, then renamed over the target.
* :func:`replace_directory`: build a folder in a staging sibling, then swap it into place.

The folder swap is atomic where the system offers it (Linux ``renameat2(RENAME_EXCHANGE)``):
at every instant the path holds the old folder or the new one. Elsewhere it is two renames with
the catchable signals (Ctrl-C, ``kill``) held back in between; a ``SIGKILL`` there leaves the
old folder aside, and the next write puts it back. Every staging or set-aside folder is named
``.<name>.partial-*`` / ``.<name>.old-*`` and carries :data:`STAGING_MARK` while it is
incomplete, so the next run can tell the leftovers it may delete from anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from common.bundle.errors import BundleError

STAGING_MARK = ".ml-roadmap-staging"  # "<pid> <host>" of the run that is building this folder
PARTIAL, ASIDE = "partial", "old"
DEFERRED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP",
                                                            "SIGQUIT") if hasattr(signal, name))

Validator = Callable[[Path], bool]  # True: a complete folder this program wrote (e.g. a bundle)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_file(path: Path) -> dict[str, Any]:
    """The manifest entry of one file: its sha256 and size in bytes."""
    return {"sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: equal values give equal bytes, so a checksum is stable."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_json(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


def write_json(path: Path, data: Any) -> Path:
    """Pretty JSON for people to read (into a staging folder: it is not atomic by itself)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def write_text_atomically(path: Path, text: str) -> None:
    """Write beside the target, flush to disk, rename: a reader sees the old file or the new."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with temporary.open("w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_json_atomically(path: Path, data: Any) -> None:
    write_text_atomically(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def check_replaceable(target: Path, is_complete: Validator) -> None:
    """Refuse a target that is a file, or a folder of other things (a mistyped path must not
    delete someone's work): only a new path, an empty folder or a complete one may be replaced."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise BundleError(f"{target} is not a folder")
    if target.is_dir() and any(target.iterdir()) and not is_complete(target):
        raise BundleError(f"{target} holds files that are not a valid model bundle; refusing to "
                          "replace it (choose a new or empty folder)")


@contextlib.contextmanager
def replace_directory(target: Path, is_complete: Validator) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it takes ``target``'s place.

    On any failure (an exception, Ctrl-C) the staging folder is removed and ``target`` is
    untouched. Leftovers of killed earlier runs are cleaned first (see
    :func:`clean_leftovers`); ``is_complete`` tells a finished folder (safe to delete when it is
    a leftover, safe to replace when it is the target) from anything else.
    """
    target = Path(target)
    clean_leftovers(target, is_complete)
    check_replaceable(target, is_complete)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{PARTIAL}-", dir=target.parent))
    except OSError as error:
        raise BundleError(f"cannot write beside {target}: {error.strerror}") from None
    _mark(staging)
    try:
        yield staging
        staging.chmod(0o755)  # mkdtemp makes it private; the folder is meant to be read
        (staging / STAGING_MARK).unlink()  # from here on it is complete: it validates
        _swap_into_place(staging, target)
    except BaseException:
        if staging.exists():
            _mark(staging)
            _remove_marked(staging)
        raise


def clean_leftovers(target: Path, is_complete: Validator) -> list[Path]:
    """Remove what killed runs left beside ``target``; put a set-aside folder back if needed.

    Only folders named like this module's staging folders are considered, and only those that
    carry :data:`STAGING_MARK` of a run no longer alive, or validate as complete, are removed;
    anything else is left alone. Returns the folders removed.
    """
    parent, removed = target.parent, []
    if not parent.is_dir():
        return removed
    for kind in (ASIDE, PARTIAL):  # a set-aside old folder may be needed back first
        for sibling in sorted(parent.iterdir()):
            if not (sibling.name.startswith(f".{target.name}.{kind}-") and sibling.is_dir()
                    and not sibling.is_symlink()):
                continue
            marked = (sibling / STAGING_MARK).is_file()
            if marked and _owner_alive(sibling):
                continue  # another run is building it right now
            if not marked and not is_complete(sibling):
                continue  # not recognisably ours: never delete it
            if kind == ASIDE and not target.exists() and not marked:
                sibling.rename(target)  # killed between the two renames: restore the old one
                continue
            _mark(sibling)
            _remove_marked(sibling)
            removed.append(sibling)
    return removed


def _mark(folder: Path) -> None:
    (folder / STAGING_MARK).write_text(f"{os.getpid()} {socket.gethostname()}\n",
                                       encoding="utf-8")


def _owner_alive(folder: Path) -> bool:
    """Whether the run named in the folder's mark is still running (on this machine)."""
    try:
        pid_text, host = (folder / STAGING_MARK).read_text(encoding="utf-8").split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True  # another machine's run (a shared folder): leave it alone
    if pid == os.getpid():
        return False  # this process's own earlier folder, no longer in use
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_marked(folder: Path) -> None:
    """Delete a marked folder, its mark last, so a half-deleted one is still recognisable."""
    for child in folder.iterdir():
        if child.name == STAGING_MARK:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    (folder / STAGING_MARK).unlink(missing_ok=True)
    folder.rmdir()


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)  # one rename: nothing, then the new folder
        return
    if _exchange(staging, target):  # the staging path now holds the old folder
        _mark(staging)
        _remove_marked(staging)
        return
    aside = staging.with_name(staging.name.replace(f".{PARTIAL}-", f".{ASIDE}-", 1))
    with _signals_deferred():  # Ctrl-C or kill between these two renames waits for both
        target.rename(aside)
        try:
            staging.rename(target)
        except OSError:
            aside.rename(target)  # the old one goes back; the caller removes the staging folder
            raise
    _mark(aside)
    _remove_marked(aside)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False where it is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_cwd, rename_exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # the file system cannot
        return False
    raise OSError(code, os.strerror(code), str(second))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and ``kill`` back until the block is done, then deliver them.

    Python runs signal handlers in the main thread only, so there the handlers are swapped for
    ones that just take note (a thread mask would not do: the kernel hands a process's signal to
    any thread that does not block it). SIGKILL cannot be held; :func:`clean_leftovers` mends it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # no Python handler can interrupt this thread
        return
    caught: list[int] = []
    previous = {number: signal.signal(number, lambda received, _frame: caught.append(received))
                for number in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        for number in caught:
            signal.raise_signal(number)
