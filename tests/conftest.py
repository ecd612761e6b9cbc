"""Shared test helpers: no network, lessons run in-process or as real subprocesses."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
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


def chromium_driver(profile: Path, mobile: dict[str, Any] | None = None) -> Any:
    """Debian's headless Chromium through selenium; ``mobile``: chromedriver's phone emulation.

    The flags keep it from calling home (this machine, like CI, may have no network at all).
    """
    require("selenium", "dev")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        message = "Debian's chromium and chromium-driver are needed (apt-get install ...)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    options = Options()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if mobile is not None:
        options.add_experimental_option("mobileEmulation", mobile)
    return webdriver.Chrome(service=Service(driver), options=options)


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
def build_bundle(out_dir: Path, *, quick: bool = True, seed: int = 0,
                 extra_args: tuple[str, ...] = ()) -> Path:
    """Train a stage 4 bundle into ``out_dir`` (its bars must pass); ``extra_args`` are further
    pipeline flags (e.g. ``("--input", "my.csv")``)."""
    from stage4_own_data import pipeline

    argv = ["--out", str(out_dir), "--seed", str(seed), *extra_args, *(["--quick"] * quick)]
    summary = pipeline.run(pipeline.build_parser().parse_args(argv))
    if not summary.passed:
        raise RuntimeError(f"the bundle in {out_dir} missed its bars: {summary.failed_checks}")
    return out_dir


@pytest.fixture(scope="session")
def quick_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick stage 4 bundle, trained once per session. Read-only: copy it before changing it."""
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


@dataclass
class OfflineExport:
    """``export_mobile --quick --json`` run once as a learner runs it, and what it printed."""

    model_dir: Path
    summary: dict[str, Any]
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def offline_export(quick_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> OfflineExport:
    """Stage 5b's offline model directory for the session. Read-only: copy it to change it.

    In this process (torch is loaded already), with file descriptors 1 and 2 captured too, so
    the tests see what native libraries would print on a learner's terminal.
    """
    import contextlib
    import io
    import tempfile

    import stage5b_on_device.export_mobile as lesson

    out = tmp_path_factory.mktemp("export_mobile") / "model"
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as native:
        os.dup2(native.fileno(), 1)
        os.dup2(native.fileno(), 2)
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = lesson.main(["--quick", "--bundle", str(quick_bundle), "--out", str(out),
                                    "--json"])
        finally:
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
        native.seek(0)
        native_output = native.read().decode("utf-8", "replace")
    run = LessonRun(code, stdout.getvalue(), stderr.getvalue() + native_output)
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return OfflineExport(out, run.summary, run.stdout, run.stderr)
