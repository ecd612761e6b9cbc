"""Errors that end a run with one clear line on stderr instead of a traceback.

Kept free of torch so the CLI can catch them without importing it.
"""

import sys
from types import TracebackType


class UsageError(Exception):
    """Bad usage or bad input (a wrong flag value, a missing file, unusable data): exit 2."""


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: training diverged, usually a too-large learning rate."""


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _interrupt_in_one_line(kind: type[BaseException], value: BaseException,
                           traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        return
    sys.__excepthook__(kind, value, traceback)


def quiet_ctrl_c() -> None:
    """Make Ctrl-C end a program with one line on stderr, even before ``main()`` runs.

    Lessons import torch at the top, which takes seconds; a learner who presses Ctrl-C then would
    otherwise get a page of traceback from inside torch. Every stage package calls this first, so
    it covers ``python -m stageN_x.lesson`` from its very first import. Other exceptions keep
    Python's default report, a hook set by a debugger or IDE is left alone, and the exit status of
    an interrupt stays 130, as shells expect.
    """
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _interrupt_in_one_line
