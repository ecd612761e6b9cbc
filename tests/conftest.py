"""Shared test helpers: no network, lessons run in-process or as real subprocesses."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Tests never touch the network: downloads fail at once and lessons take their offline fallback.
os.environ["MLCOURSE_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
# Progress (`mlcourse status`) goes to a scratch folder, never the learner's real data folder.
os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp(prefix="mlcourse-home-")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(module: str, extra: str) -> Any:
    """Import an optional package; skip without it locally, but fail under CI=true.

    CI installs every extra, so a missing one there is a broken setup, not a reason to skip.
    """
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (pip install -e '.[{extra}]')"
        if IN_CI:
            pytest.fail(f"CI must install every extra: {message}")
        pytest.skip(message)
    return importlib.import_module(module)


@dataclass
class LessonRun:
    code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        """The JSON summary: the last line of stdout."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_module(module: str, *args: str, cwd: Path, timeout: float = 120) -> LessonRun:
    """Run ``python -m module args`` in a real subprocess, as a learner would."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    return LessonRun(result.returncode, result.stdout, result.stderr)


def run_lesson(module: str, *args: str, out: Path, capsys: pytest.CaptureFixture) -> LessonRun:
    """Run a lesson's ``main()`` in this process (no interpreter start-up: fast)."""
    lesson = importlib.import_module(module)
    code = lesson.main([*args, "--out", str(out), "--json"])
    captured = capsys.readouterr()
    return LessonRun(code, captured.out, captured.err)


def assert_one_line_error(run: LessonRun, code: int = 2) -> None:
    """Bad usage: the expected exit code and exactly one line on stderr, never a traceback."""
    assert run.code == code, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr


# --- one trained model for the whole session (GUIDE §3) --------------------------------------
@pytest.fixture(scope="session")
def quick_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick stage 4 bundle, trained once per session. Read-only: copy it before changing it."""
    from stage4_own_data.pipeline import build_bundle

    out = tmp_path_factory.mktemp("quick-bundle") / "bundle"
    build_bundle(out, quick=True)
    return out


@pytest.fixture(scope="session")
def exported_bundle(
    quick_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """A copy of :func:`quick_bundle` with stage 5a's exports, and the export lesson's summary."""
    import contextlib
    import io
    import shutil

    from stage5a_integration import export

    base = tmp_path_factory.mktemp("stage5a")
    bundle = Path(shutil.copytree(quick_bundle, base / "bundle"))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = export.main(["--bundle", str(bundle), "--quick", "--json",
                            "--out", str(base / "export")])
    assert code == 0, output.getvalue()
    return bundle, json.loads(output.getvalue().strip().splitlines()[-1])
