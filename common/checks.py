"""Checks for the learner's exercises: small named checks, each with a reason and one hint.

A stage's ``checks/<exercise>.py`` holds functions decorated with :func:`check`. Each takes the
learner's loaded module, calls what the exercise asks for and tests what it *does*; a miss is
raised with :func:`expect` (or :class:`CheckFailed`) and reported as what was expected, what was
seen, and one hint. :func:`run_checks` runs them in order, each under a time limit, and never lets
an exception of the checker or of the learner's code escape: the learner sees their own frames
only, never the checker's.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import re
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

CHECK_SECONDS = 30.0  # one check's time limit: checks take seconds, so this means "never ends"
CheckFn = Callable[[ModuleType], None]


class CheckFailed(Exception):
    """A check's verdict: what it expected, what it saw, and (optionally) a sharper hint."""

    def __init__(self, expected: str, seen: str, hint: str | None = None) -> None:
        super().__init__(f"expected {expected}, saw {seen}")
        self.expected, self.seen, self.hint = expected, seen, hint


class CheckTimeout(BaseException):
    """Raised into the learner's code by the alarm; a BaseException, so ``except Exception``
    in their code cannot swallow it."""


def expect(condition: object, *, expected: str, seen: str, hint: str | None = None) -> None:
    """Fail the running check unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(expected, seen, hint)


def check(description: str, *, hint: str) -> Callable[[CheckFn], CheckFn]:
    """Mark a function of a checks module as one check; ``hint`` is shown when it fails."""

    def mark(function: CheckFn) -> CheckFn:
        function.check_description = description  # type: ignore[attr-defined]
        function.check_hint = hint  # type: ignore[attr-defined]
        return function

    return mark


def checks_of(module: ModuleType) -> list[CheckFn]:
    """The module's checks in the order they are written."""
    found = [value for value in vars(module).values()
             if callable(value) and hasattr(value, "check_description")
             and getattr(value, "__module__", None) == module.__name__]
    return sorted(found, key=lambda function: function.__code__.co_firstlineno)


@dataclass
class CheckResult:
    name: str
    description: str
    passed: bool
    expected: str = ""
    seen: str = ""
    hint: str = ""
    learner_traceback: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_learner(path: Path, module_name: str) -> ModuleType:
    """Import the learner's file as a fresh module (never a cached copy of an earlier load)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def learner_frames(error: BaseException, learner_file: Path) -> str:
    """The traceback of ``error`` cut down to the frames in the learner's own file."""
    target = str(learner_file.resolve())
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if str(Path(frame.filename).resolve()) == target]
    if isinstance(error, SyntaxError) and error.filename \
            and str(Path(error.filename).resolve()) == target:
        return "".join(traceback.format_exception_only(type(error), error)).rstrip()
    if not frames:
        return ""
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines).rstrip()


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (POSIX main thread; elsewhere the caller's own
    limit applies, e.g. the subprocess timeout of ``mlcourse check``)."""
    if not hasattr(signal, "setitimer") or not _in_main_thread():
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise CheckTimeout

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _verdict(function: CheckFn, learner: ModuleType, learner_file: Path,
             seconds: float) -> CheckResult:
    name = function.__name__
    description: str = function.check_description  # type: ignore[attr-defined]
    hint: str = function.check_hint  # type: ignore[attr-defined]
    try:
        with time_limit(seconds):
            function(learner)
    except CheckFailed as failure:
        return CheckResult(name, description, False, failure.expected, failure.seen,
                           failure.hint or hint)
    except CheckTimeout:
        return CheckResult(name, description, False, f"an answer within {seconds:g} s",
                           "the code was still running", "is there a loop that never ends?")
    except NotImplementedError as error:
        if learner_frames(error, learner_file):
            return CheckResult(name, description, False, "your code to run",
                               "raise NotImplementedError is still in the function",
                               "replace that line with your code (the docstring says what "
                               "to write)")
        return _raised(name, description, hint, error, learner_file)
    except Exception as error:  # the learner's code (or, rarely, the checker) raised
        return _raised(name, description, hint, error, learner_file)
    return CheckResult(name, description, True)


def _raised(name: str, description: str, hint: str, error: Exception,
            learner_file: Path) -> CheckResult:
    shown = learner_frames(error, learner_file)
    if shown:
        return CheckResult(name, description, False, "the code to run without an error",
                           f"it raised {type(error).__name__}: {error}", hint, shown)
    return CheckResult(name, description, False, "the code to run without an error",
                       f"{type(error).__name__}: {error}", hint)


def run_checks(check_module: str, learner_file: Path, *,
               seconds: float = CHECK_SECONDS,
               on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Load ``learner_file`` and run every check of ``check_module`` against it, in order."""
    checks = checks_of(importlib.import_module(check_module))
    results: list[CheckResult] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    module_name = "mlcourse_learner_" + re.sub(r"\W", "_", Path(learner_file).stem)
    try:
        with time_limit(seconds):
            learner = load_learner(Path(learner_file), module_name)
    except CheckTimeout:
        record(CheckResult("file_loads", "the file loads", False,
                           f"the import to finish within {seconds:g} s",
                           "it was still running", "move long work into a function"))
        return results
    except Exception as error:
        record(CheckResult("file_loads", "the file loads", False, "the file to import cleanly",
                           f"{type(error).__name__}: {error}",
                           "fix the error shown; run `python FILE` to see it too",
                           learner_frames(error, Path(learner_file))))
        return results
    try:
        for function in checks:
            record(_verdict(function, learner, Path(learner_file), seconds))
    finally:
        sys.modules.pop(module_name, None)
    return results


def render(results: list[CheckResult]) -> str:
    """The human report: one line per check; expected, seen and a hint under each failure."""
    lines = []
    for result in results:
        lines.append(f"[{'ok' if result.passed else 'FAIL'}] {result.description}")
        if not result.passed:
            lines.append(f"       expected: {result.expected}")
            lines.append(f"       seen:     {result.seen}")
            if result.learner_traceback:
                lines += ["       " + line for line in result.learner_traceback.splitlines()]
            lines.append(f"       hint:     {result.hint}")
    passed = sum(result.passed for result in results)
    lines.append(f"{passed} of {len(results)} checks passed")
    return "\n".join(lines)
