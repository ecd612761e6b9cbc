"""Keep the libraries' own chatter out of a lesson's output unless ``--verbose`` asks for it.

The exporters and runtimes of stage 5b talk a lot: torch warnings (``W1201 … KernelPreference``),
ONNX Runtime's ``INFO`` log lines, ExecuTorch's native ``cpuinfo`` lines, Core ML's progress bars.
Some come from Python (``warnings``, ``logging``, ``sys.stderr``), some from C++ writing straight
to file descriptors 1 and 2, so both levels are redirected to one buffer. When the wrapped call
fails, the buffer is replayed on stderr: what explains a failure is never lost.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def third_party_output(verbose: bool) -> Iterator[None]:
    """Run the body with every library message held back (``verbose``: shown as it comes)."""
    if verbose:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    python_side = io.StringIO()
    saved_fds = [os.dup(1), os.dup(2)]
    disabled = logging.root.manager.disable
    with tempfile.TemporaryFile() as native_side:
        os.dup2(native_side.fileno(), 1)
        os.dup2(native_side.fileno(), 2)
        logging.disable(logging.WARNING)
        failed = False
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(python_side), \
                    contextlib.redirect_stderr(python_side):
                warnings.simplefilter("ignore")
                yield
        except BaseException:
            failed = True
            raise
        finally:
            logging.disable(disabled)
            for fd, saved in zip((1, 2), saved_fds, strict=True):
                os.dup2(saved, fd)
                os.close(saved)
            if failed:
                native_side.seek(0)
                sys.stderr.write(native_side.read().decode("utf-8", "replace"))
                sys.stderr.write(python_side.getvalue())


def add_verbose_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="also show the libraries' own warnings, log lines and progress bars")
