"""``mlcourse``: list the stages, run them, do and check the exercises, and show progress.

Imports stay lazy: ``--help``, ``list`` and ``doctor`` never import a stage, and only ``doctor``
and ``run`` import torch. Lessons come from the course map (:mod:`common.registry`); further
commands (``mlcourse serve``) from the ``mlcourse.commands`` entry points that packages declare
in their ``pyproject.toml``, so this module names no stage. ``exercises``, ``start``,
``solution`` and ``status`` never import torch either, and ``check`` runs the learner's code in
a child process (:mod:`common.check_worker`) with a time limit.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common.bundle.errors import BundleError
from common.checks import CHECK_SECONDS
from common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, NonFiniteLossError, UsageError
from common.lesson import LessonArgumentParser, positive_float
from common.paths import PROJECT_ROOT
from common.registry import (
    STAGES,
    ExerciseRef,
    Lesson,
    Stage,
    exercises,
    find_exercise,
    find_stage,
    stage_ids,
)

DEFAULT_WORKSPACE = "my_exercises"

COMMANDS_GROUP = "mlcourse.commands"  # entry points: name = "module:function [extra]"
BUILT_IN = ("list", "run", "doctor")
OPTIONAL_PACKAGES = {
    "serve (stage 5a)": ("fastapi", "uvicorn", "grpc"),
    "browser tests": ("selenium",),
    "mobile (stage 5b)": ("executorch", "torchao", "coremltools"),
    "tflite (stage 5b)": ("litert_torch",),
}


def build_parser() -> argparse.ArgumentParser:
    parser = LessonArgumentParser(prog="mlcourse", description=__doc__)
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=LessonArgumentParser
    )
    commands.add_parser("list", help="the stages and their lessons")
    run = commands.add_parser("run", help="run a stage's lessons in order (or all stages)")
    run.add_argument("stage", help=f"stage id ({' '.join(stage_ids())}) or 'all'")
    run.add_argument("--quick", action="store_true", help="smoke mode for every lesson")
    run.add_argument("--json", action="store_true", help="end with one JSON summary line")
    run.add_argument("--bundle", default=None, metavar="DIR",
                     help="stages 5a/5b: the model bundle every lesson uses (default: the "
                          "current one)")
    run.epilog = ("Anything after `--` goes to the stage's main lesson, e.g. "
                  "`mlcourse run 4 -- --input my.csv` or "
                  "`mlcourse run 5a -- --scenario triage --currency USD`.")
    commands.add_parser("doctor", help="versions, device, cached datasets, optional extras")
    listing = commands.add_parser("exercises", help="the exercises: id, stage, title, files")
    listing.add_argument("--json", action="store_true", help="end with one JSON line")
    start = commands.add_parser("start", help="copy an exercise's stub into your workspace")
    start.add_argument("id", help="exercise id, e.g. 1.1 (see mlcourse exercises)")
    start.add_argument("--dir", default=DEFAULT_WORKSPACE,
                       help=f"your workspace (default: ./{DEFAULT_WORKSPACE}/)")
    checking = commands.add_parser("check", help="check your answer to an exercise")
    checking.add_argument("id", help="exercise id, e.g. 1.1")
    source = checking.add_mutually_exclusive_group()
    source.add_argument("--file", type=Path, help="your file (default: the workspace copy)")
    source.add_argument("--solution", action="store_true",
                        help="check the reference solution instead (not counted as progress)")
    checking.add_argument("--dir", default=DEFAULT_WORKSPACE,
                          help=f"your workspace (default: ./{DEFAULT_WORKSPACE}/)")
    checking.add_argument("--time-limit", type=positive_float, default=CHECK_SECONDS,
                          help=f"seconds each check may run (default: {CHECK_SECONDS:g})")
    checking.add_argument("--json", action="store_true", help="end with one JSON line")
    solution = commands.add_parser("solution", help="print an exercise's reference solution")
    solution.add_argument("id", help="exercise id, e.g. 1.1")
    status = commands.add_parser("status", help="your progress: lessons and exercises per stage")
    status.add_argument("--json", action="store_true", help="end with one JSON line")
    for name, entry in plugin_commands().items():
        commands.add_parser(name, add_help=False,
                            help=f"from {entry.module} (mlcourse {name} --help)")
    return parser


def plugin_commands() -> dict[str, importlib.metadata.EntryPoint]:
    """The commands installed packages add (``[project.entry-points."mlcourse.commands"]``)."""
    return {entry.name: entry
            for entry in importlib.metadata.entry_points(group=COMMANDS_GROUP)
            if entry.name not in BUILT_IN}


def cmd_list() -> int:
    for stage in STAGES:
        print(f"{stage.id:>3}  {stage.package:<22} {stage.title}")
        if not stage.lessons:
            print("       (no lessons yet)")
        for lesson in stage.lessons:
            print(f"       python -m {stage.module(lesson):<40} {lesson.title}")
    return EXIT_OK


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cmd_doctor() -> int:
    from common.data.catalog import catalog

    print(f"python       {platform.python_version()} ({sys.executable})")
    for package in ("torch", "torchvision", "onnxruntime", "scikit-learn"):
        print(f"{package:<12} {_version(package)}")
    from common.devices import pick_device  # imports torch

    print(f"device       {pick_device('auto')} (what --device auto picks)")
    print("datasets:")
    for info in catalog():
        state = "cached" if info.marker.exists() else f"missing -> falls back to {info.fallback}"
        print(f"  {info.name:<10} {state}  [{info.marker}]")
    print("optional extras:")
    for extra, modules in OPTIONAL_PACKAGES.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        print(f"  {extra:<20} {'installed' if not missing else 'missing: ' + ', '.join(missing)}")
    return EXIT_OK


def lesson_argv(stage: Stage, lesson: Lesson, *, quick: bool, bundle: str | None,
                main_args: list[str]) -> list[str]:
    """The flags one lesson of ``mlcourse run`` gets: --quick, --bundle, and the ``--`` args."""
    argv = ["--quick"] if quick else []
    if bundle is not None and stage.reads_bundles:
        argv += ["--bundle", bundle]
    return argv + (main_args if lesson == stage.main_lesson else [])


def run_stage(stage: Stage, *, quick: bool, bundle: str | None = None,
              main_args: list[str] = ()) -> dict[str, Any]:
    """Run each lesson of ``stage`` in this process; returns the stage summary."""
    from common.lesson import execute, print_summary, record_progress

    started = time.perf_counter()
    lessons = []
    for lesson in stage.lessons:
        module = importlib.import_module(stage.module(lesson))
        argv = lesson_argv(stage, lesson, quick=quick, bundle=bundle, main_args=list(main_args))
        print(f"\n### {stage.module(lesson)}: {lesson.title}"
              + (f" ({' '.join(argv)})" if argv else ""), flush=True)
        args = module.build_parser().parse_args(argv)
        summary = execute(module.run, args)
        print_summary(summary)
        record_progress(summary)
        lessons.append(summary.to_json())
    return {
        "stage": stage.package,
        "passed": all(lesson["passed"] for lesson in lessons),
        "seconds": round(time.perf_counter() - started, 3),
        "lessons": lessons,
    }


def _loss_cell(lesson: dict[str, Any]) -> str:
    if lesson["final_loss"] is None:
        return "-"
    threshold = lesson["loss_threshold"]
    return f"{lesson['final_loss']:.4g}" + (f" / {threshold:.4g}" if threshold is not None
                                            else "")


def _metric_cell(lesson: dict[str, Any]) -> str:
    if not lesson["metrics"]:
        return "-"
    name, value = next(iter(lesson["metrics"].items()))
    return f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"


def print_table(stages: list[dict[str, Any]]) -> None:
    rows = [("stage", "lesson", "held-out loss / loss bar", "key metric", "seconds", "result")]
    for stage in stages:
        for lesson in stage["lessons"]:
            rows.append((stage["stage"], lesson["lesson"], _loss_cell(lesson), _metric_cell(lesson),
                         f"{lesson['seconds']:.1f}", "pass" if lesson["passed"] else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def cmd_run(stage_id: str, *, quick: bool, as_json: bool, bundle: str | None = None,
            main_args: list[str] = ()) -> int:
    if stage_id == "all":
        if main_args:
            raise UsageError("`-- ARGS` goes to one stage's main lesson: name the stage, "
                             "e.g. `mlcourse run 4 -- --input my.csv`")
        chosen = [stage for stage in STAGES if stage.lessons]
    else:
        try:
            chosen = [find_stage(stage_id)]
        except KeyError:
            raise UsageError(
                f"unknown stage {stage_id!r}; choose one of {' '.join(stage_ids())} or all"
            ) from None
        if not chosen[0].lessons:
            raise UsageError(f"stage {stage_id} has no lessons yet")
    started = time.perf_counter()
    results = [run_stage(stage, quick=quick, bundle=bundle, main_args=main_args)
               for stage in chosen]
    passed = all(result["passed"] for result in results)
    print_table(results)
    print(f"\n{'all passed' if passed else 'SOME LESSONS FAILED'} "
          f"in {time.perf_counter() - started:.1f} s")
    if as_json:
        document = results[0] if stage_id != "all" else {
            "passed": passed, "seconds": round(time.perf_counter() - started, 3), "stages": results,
        }
        print(json.dumps(document, ensure_ascii=False))
    return EXIT_OK if passed else EXIT_FAILED


def module_file(module: str) -> Path:
    """Where a module's file is, found without running it (only its packages' light __init__)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise UsageError(f"the course files are incomplete: no module {module}")
    return Path(spec.origin)


def shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def exercise_or_usage_error(exercise_id: str) -> ExerciseRef:
    try:
        return find_exercise(exercise_id)
    except KeyError:
        raise UsageError(f"unknown exercise {exercise_id!r}; "
                         "see `mlcourse exercises` for the ids") from None


def workspace_file(ref: ExerciseRef, workspace: str | Path) -> Path:
    return Path(workspace) / f"ex{ref.id}_{ref.exercise.name}.py"


def cmd_exercises(*, as_json: bool) -> int:
    rows = [{"id": ref.id, "stage": ref.stage.package, "title": ref.title,
             "stub": shown_path(module_file(ref.module("exercises"))),
             "solution": shown_path(module_file(ref.module("solutions")))}
            for ref in exercises()]
    for row in rows:
        print(f"{row['id']:>5}  {row['stage']:<20} {row['title']}")
    print(f"\n{len(rows)} exercises. Start one with `mlcourse start ID`, "
          "check it with `mlcourse check ID`.")
    if as_json:
        print(json.dumps({"exercises": rows}, ensure_ascii=False))
    return EXIT_OK


def cmd_start(exercise_id: str, workspace: str) -> int:
    ref = exercise_or_usage_error(exercise_id)
    target = workspace_file(ref, workspace)
    if target.exists():
        print(f"{shown_path(target)} is already there: kept as it is (delete it to start over)")
        return EXIT_OK
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as sink:  # "x": never replaces a file
            sink.write(module_file(ref.module("exercises")).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror}") from None
    print(f"{ref.id} {ref.title}\nyour copy: {shown_path(target)}\n"
          f"edit it, then run: mlcourse check {ref.id}")
    return EXIT_OK


def run_worker(ref: ExerciseRef, learner_file: Path, seconds: float) -> list[dict[str, Any]]:
    """Run the checks in a child process; a child past its time limit is ended and reported.

    Each check has its own alarm in the child; this outer limit is the backstop for code the
    alarm cannot interrupt (a long call inside a C library).
    """
    limit = 4 * seconds + 30  # a few checks at their limit, plus start-up
    with tempfile.TemporaryDirectory(prefix="mlcourse-check-") as folder:
        results_file = Path(folder) / "results.jsonl"
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
            "MLCOURSE_OFFLINE": "1",  # checks run offline: data comes from the cache or the repo
            "OMP_NUM_THREADS": "1",  # small models: one thread is fastest and deterministic
        }
        command = [sys.executable, "-m", "common.check_worker", ref.module("checks"),
                   str(learner_file.resolve()), str(results_file), "--seconds", str(seconds)]
        try:
            finished = subprocess.run(command, env=environment, timeout=limit, check=False)
            crashed = finished.returncode not in (0, 1)
        except subprocess.TimeoutExpired:
            finished, crashed = None, False
        results = []
        if results_file.exists():
            results = [json.loads(line) for line in
                       results_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if finished is None:
        results.append(_stopped(f"the checks to finish within {limit:g} s",
                                "they were still running and were stopped",
                                "is there a loop that never ends?"))
    elif crashed or not results:
        results.append(_stopped("the checks to run to the end",
                                f"the process ended with exit code {finished.returncode}",
                                "does your code call sys.exit() or crash Python?"))
    return results


def _stopped(expected: str, seen: str, hint: str) -> dict[str, Any]:
    return {"name": "finished", "description": "the checks run to the end", "passed": False,
            "expected": expected, "seen": seen, "hint": hint, "learner_traceback": ""}


def cmd_check(exercise_id: str, *, file: Path | None, solution: bool, workspace: str,
              seconds: float, as_json: bool) -> int:
    from common.checks import CheckResult, render
    from common.progress import record_exercise

    ref = exercise_or_usage_error(exercise_id)
    if solution:
        learner_file = module_file(ref.module("solutions"))
    else:
        learner_file = file if file is not None else workspace_file(ref, workspace)
        if not learner_file.is_file():
            raise UsageError(f"no file {learner_file}: run `mlcourse start {ref.id}` first, "
                             "or pass --file")
    print(f"checking {ref.id} ({ref.title}) against {shown_path(learner_file)}", flush=True)
    results = run_worker(ref, learner_file, seconds)
    passed = all(result["passed"] for result in results)
    print(render([CheckResult(**result) for result in results]))
    if not solution:
        try:
            record_exercise(ref.id, passed)
        except OSError as error:
            print(f"warning: progress not saved: {error}", file=sys.stderr)
    if as_json:
        print(json.dumps({"id": ref.id, "file": str(learner_file), "solution": solution,
                          "passed": passed, "checks": results}, ensure_ascii=False))
    return EXIT_OK if passed else EXIT_FAILED


def cmd_solution(exercise_id: str) -> int:
    ref = exercise_or_usage_error(exercise_id)
    print(module_file(ref.module("solutions")).read_text(encoding="utf-8"), end="")
    return EXIT_OK


def progress_by_stage() -> tuple[Path, list[dict[str, Any]]]:
    from common.progress import load_progress, progress_path

    path = progress_path()
    document = load_progress(path)
    stages = []
    for stage in STAGES:
        lessons = [document["lessons"].get(f"{stage.package}.{lesson.name}", {})
                   for lesson in stage.lessons]
        refs = [ref for ref in exercises() if ref.stage == stage]
        passed_ids = [ref.id for ref in refs
                      if document["exercises"].get(ref.id, {}).get("passed")]
        stages.append({
            "stage": stage.id, "package": stage.package,
            "lessons": {"total": len(lessons), "run": sum(bool(entry) for entry in lessons),
                        "passed": sum(bool(entry.get("passed")) for entry in lessons)},
            "exercises": {"total": len(refs), "passed": len(passed_ids),
                          "passed_ids": passed_ids},
        })
    return path, stages


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def cmd_status(*, as_json: bool) -> int:
    path, stages = progress_by_stage()
    print(f"progress file: {path}{'' if path.exists() else ' (nothing recorded yet)'}")
    for row in stages:
        lessons, done = row["lessons"], row["exercises"]
        total = lessons["total"] + done["total"]
        print(f"{row['stage']:>3}  {bar(lessons['passed'] + done['passed'], total)}  "
              f"lessons {lessons['passed']}/{lessons['total']} passed "
              f"({lessons['run']} run), exercises {done['passed']}/{done['total']} passed")
    if as_json:
        passed = [exercise_id for row in stages for exercise_id in row["exercises"]["passed_ids"]]
        print(json.dumps({"path": str(path), "stages": stages, "exercises_passed": passed},
                         ensure_ascii=False))
    return EXIT_OK


def cmd_plugin(entry: importlib.metadata.EntryPoint, argv: list[str]) -> int:
    """Hand over to a command's ``main(argv)``, imported only now (it may need an extra)."""
    try:
        command = entry.load()
    except ModuleNotFoundError as error:
        extra = ",".join(entry.extras) or "all"
        raise UsageError(f"`mlcourse {entry.name}` needs {error.name!r}: install it with "
                         f"pip install -e '.[{extra}]'") from None
    return command(argv)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    main_args: list[str] = []
    if argv[:1] == ["run"] and "--" in argv:  # `mlcourse run 4 -- --input my.csv`
        split = argv.index("--")
        argv, main_args = argv[:split], argv[split + 1:]
    args, rest = parser.parse_known_args(argv)
    plugins = plugin_commands()
    if rest and args.command not in plugins:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command in plugins:
            return cmd_plugin(plugins[args.command], rest)
        if args.command == "list":
            return cmd_list()
        if args.command == "doctor":
            return cmd_doctor()
        if args.command == "exercises":
            return cmd_exercises(as_json=args.json)
        if args.command == "start":
            return cmd_start(args.id, args.dir)
        if args.command == "check":
            return cmd_check(args.id, file=args.file, solution=args.solution,
                             workspace=args.dir, seconds=args.time_limit, as_json=args.json)
        if args.command == "solution":
            return cmd_solution(args.id)
        if args.command == "status":
            return cmd_status(as_json=args.json)
        return cmd_run(args.stage, quick=args.quick, as_json=args.json, bundle=args.bundle,
                       main_args=main_args)
    except (UsageError, BundleError) as error:
        print(f"mlcourse: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except NonFiniteLossError as error:
        print(f"mlcourse: error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
