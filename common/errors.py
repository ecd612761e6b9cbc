"""Errors that end a run with one clear line on stderr instead of a traceback.

Kept free of torch so the CLI can catch them without importing it.
"""


class UsageError(Exception):
    """Bad usage or bad input (a wrong flag value, a missing file, unusable data): exit 2."""


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: training diverged, usually a too-large learning rate."""


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
