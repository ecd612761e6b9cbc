"""The learner's progress: lessons run and passed, exercises passed, in one small JSON file.

The file lives in the user's data folder (``platformdirs``), or under ``$MLCOURSE_HOME`` when
that is set (tests set it, so they never touch the real one). It is written to a temporary
sibling and renamed into place, so an interrupted write never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HOME_VARIABLE = "MLCOURSE_HOME"
FILE_NAME = "progress.json"


def progress_path() -> Path:
    home = os.environ.get(HOME_VARIABLE)
    if home:
        return Path(home) / FILE_NAME
    import platformdirs

    return Path(platformdirs.user_data_dir("mlcourse", appauthor=False)) / FILE_NAME


def load_progress(path: Path | None = None) -> dict[str, Any]:
    """``{"lessons": {"stage.lesson": {...}}, "exercises": {"1.1": {...}}}``; empty if unreadable.

    A damaged file is not an error the learner can act on mid-lesson: it reads as no progress and
    is replaced on the next write.
    """
    path = path or progress_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"lessons": {}, "exercises": {}}
    if not isinstance(document, dict):
        return {"lessons": {}, "exercises": {}}
    return {"lessons": dict(document.get("lessons") or {}),
            "exercises": dict(document.get("exercises") or {})}


def _save(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as sink:
            json.dump(document, sink, ensure_ascii=False, indent=2, sort_keys=True)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record_lesson(stage: str, lesson: str, passed: bool) -> None:
    """Remember a lesson run; a lesson once passed stays passed."""
    path = progress_path()
    document = load_progress(path)
    entry = document["lessons"].get(f"{stage}.{lesson}", {})
    document["lessons"][f"{stage}.{lesson}"] = {
        "runs": int(entry.get("runs", 0)) + 1,
        "passed": bool(entry.get("passed")) or passed,
        "last_run": _now(),
    }
    _save(document, path)


def record_exercise(exercise_id: str, passed: bool) -> None:
    """Remember a check of the learner's own answer; an exercise once passed stays passed."""
    path = progress_path()
    document = load_progress(path)
    entry = document["exercises"].get(exercise_id, {})
    document["exercises"][exercise_id] = {
        "attempts": int(entry.get("attempts", 0)) + 1,
        "passed": bool(entry.get("passed")) or passed,
        "last_check": _now(),
    }
    _save(document, path)
