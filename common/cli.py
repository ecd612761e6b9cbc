"""``mlcourse``: list the stages, run them, and check the learner's setup.

Imports stay lazy: ``--help``, ``list`` and ``doctor`` never import a stage, and only ``doctor``
and ``run`` import torch. Lessons come from the course map (:mod:`common.registry`); further
commands (``mlcourse serve``) from the ``mlcourse.commands`` entry points that packages declare
in their ``pyproject.toml``, so this module names no stage.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import platform
import sys
import time
from typing import Any

from common.bundle.errors import BundleError
from common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, NonFiniteLossError, UsageError
from common.lesson import LessonArgumentParser
from common.registry import STAGES, Lesson, Stage, find_stage, stage_ids

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
    from common.lesson import execute, print_summary

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
