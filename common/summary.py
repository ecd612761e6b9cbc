"""The run summary every lesson ends with, and the one JSON Schema it follows.

A lesson returns a :class:`LessonSummary`; :func:`common.lesson.lesson_main` times it, prints a
short table for people and, with ``--json``, one JSON line for machines (the last stdout line).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
Kind = Literal["train", "tour", "bench", "tool"]


@dataclass
class LessonSummary:
    """What one lesson run produced and whether it met its bars.

    ``checks`` maps a human-readable bar ("final loss 0.9 <= 1.2") to whether it held; the run
    passes only when every check holds. ``extras`` become further top-level JSON keys.
    """

    stage: str
    lesson: str
    kind: Kind
    dataset: str | None = None
    final_loss: float | None = None
    loss_threshold: float | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.final_loss is not None and self.loss_threshold is not None:
            self.check(
                f"final loss {self.final_loss:.4g} <= loss bar {self.loss_threshold:.4g}",
                self.final_loss <= self.loss_threshold,
            )

    def check(self, description: str, ok: bool) -> bool:
        """Record one bar; returns ``ok`` so a lesson can react to it."""
        self.checks[description] = bool(ok)
        return bool(ok)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "lesson": self.lesson,
            "kind": self.kind,
            "dataset": self.dataset,
            "final_loss": _finite_or_none(self.final_loss),
            "loss_threshold": self.loss_threshold,
            "metrics": {k: _finite_or_none(v) for k, v in self.metrics.items()},
            "seconds": round(self.seconds, 3),
            "passed": self.passed,
            "failed_checks": self.failed_checks,
            "outputs": self.outputs,
        }
        data.update(self.extras)
        return data


def _finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN: a diverged figure is reported as null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(document: dict[str, Any], definition: str | None = None) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``document`` follows the schema.

    ``definition`` picks ``"stage_run"`` or ``"all_run"``; the default is one lesson.
    """
    import jsonschema

    root = schema()
    target = root if definition is None else {**root, "$ref": f"#/$defs/{definition}"}
    jsonschema.validate(document, target)
