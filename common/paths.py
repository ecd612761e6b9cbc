"""Where things live: the shipped data, the download cache and the ``runs/`` layout.

Shipped data is found relative to this package, never the current directory, so lessons work
from any folder. Outputs go under ``./runs`` unless a lesson is given ``--out``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATA_DIR = PROJECT_ROOT / "data"


def cache_dir() -> Path:
    """The download cache: ``$MLCOURSE_CACHE`` if set, else ``data/cache`` in the project."""
    return Path(os.environ.get("MLCOURSE_CACHE", SHIPPED_DATA_DIR / "cache"))


def runs_dir(stage: str, lesson: str, out: str | Path | None = None) -> Path:
    """The output folder of one lesson run: ``--out`` if given, else ``runs/<stage>/<lesson>``."""
    path = Path(out) if out is not None else Path.cwd() / "runs" / stage / lesson
    path.mkdir(parents=True, exist_ok=True)
    return path
