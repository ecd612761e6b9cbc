"""Reading the JSON files the course writes (manifests, specs, benchmark results), torch-free.

One place turns "missing, unreadable, not JSON, not an object" into one clear error line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_object(path: Path, *, error: type[Exception],
                     what: str = "JSON file") -> dict[str, Any]:
    """The object stored in ``path``; raise ``error`` with a one-line reason otherwise.

    ``error`` is the caller's own exception class (a bundle, a spec, a benchmark result each
    have theirs), so the reader stays free of the rest of the course.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as reason:
        raise error(f"cannot read the {what} {path}: {reason}") from None
    if not isinstance(data, dict):
        raise error(f"{path} is not a {what} (expected a JSON object)")
    return data
