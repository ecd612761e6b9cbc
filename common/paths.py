"""Where things live: the shipped data, the download cache and the ``runs/`` layout.

Shipped data is found relative to this package, never the current directory, so lessons work
from any folder. Outputs go under ``./runs`` unless a lesson is given ``--out``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from common.bundle.manifest import Bundle
from common.bundle.store import BundleStore
from common.errors import UsageError
from common.registry import BUNDLE_MAKER, BUNDLE_STORE_DIR

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATA_DIR = PROJECT_ROOT / "data"


def cache_dir() -> Path:
    """The download cache: ``$MLCOURSE_CACHE`` if set, else ``data/cache`` in the project."""
    return Path(os.environ.get("MLCOURSE_CACHE", SHIPPED_DATA_DIR / "cache"))


def runs_dir(stage: str, lesson: str, out: str | Path | None = None) -> Path:
    """The output folder of one lesson run: ``--out`` if given, else ``runs/<stage>/<lesson>``."""
    path = Path(out) if out is not None else Path.cwd() / "runs" / stage / lesson
    return writable_dir(path, "--out" if out is not None else "the output folder")


def writable_dir(path: Path, what: str) -> Path:
    """``path`` as a folder this program can write into (made if missing), else one clear error.

    Checked before any work, so a lesson never trains for minutes and then fails to save.
    """
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(f"cannot write into {what} {path}: {reason}") from None
    return path


def bundle_store() -> BundleStore:
    """The store of named model bundles, where the course map (:mod:`common.registry`) puts it."""
    return BundleStore(Path.cwd() / BUNDLE_STORE_DIR,
                       make_hint=f"train one with `{BUNDLE_MAKER}`, or pass --bundle DIR")


def chosen_bundle(given: str | Path | None) -> Path:
    """``--bundle``: the folder given, else the store's current bundle (one clear error if none)."""
    return Path(given) if given is not None else bundle_store().current()


def check_bundle_state(bundle: Bundle, *, allow_failed: bool = True) -> Bundle:
    """Warn on stderr (or, without ``allow_failed``, refuse) when the bundle's run failed.

    A failed run's bundle is kept so that nothing is lost, but its figures missed their bars:
    every later stage says so before using it, and serving refuses it unless asked.
    """
    if bundle.failed is None:
        return bundle
    if not allow_failed:
        raise UsageError(f"bundle {bundle.root} is marked failed ({bundle.failed}); pass "
                         "--allow-failed to use it anyway")
    print(f"warning: bundle {bundle.root} is marked failed ({bundle.failed})", file=sys.stderr)
    return bundle
