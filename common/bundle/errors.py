"""The one error of the bundle package: a model that cannot be used as it is.

The package imports nothing else from ``common`` (it ships alone, as the torch-free wheel), so
this is its own class rather than :class:`common.errors.UsageError`; the course's entry points
treat both the same way: one line on stderr, exit 2.
"""


class BundleError(Exception):
    """A bundle that cannot be used: missing, damaged, edited after writing, or too new."""
