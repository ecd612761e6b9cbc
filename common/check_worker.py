"""The process ``mlcourse check`` runs the learner's code in: ``python -m common.check_worker``.

A separate process, so that a loop that never ends (even one inside a C call the alarm cannot
interrupt) is ended by the parent's timeout and a crash of the learner's code cannot take the
command down. Each result is written as one JSON line as soon as it is known, so the parent can
report the checks that finished before a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from common.checks import CheckResult, run_checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.check_worker")
    parser.add_argument("check_module")
    parser.add_argument("learner_file", type=Path)
    parser.add_argument("results", type=Path, help="JSON-lines file the results go to")
    parser.add_argument("--seconds", type=float, required=True, help="time limit per check")
    args = parser.parse_args(argv)
    with args.results.open("w", encoding="utf-8") as sink:

        def write(result: CheckResult) -> None:
            sink.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            sink.flush()
            os.fsync(sink.fileno())

        results = run_checks(args.check_module, args.learner_file, seconds=args.seconds,
                             on_result=write)
    return 0 if results and all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
