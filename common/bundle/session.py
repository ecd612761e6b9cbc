"""ONNX Runtime for the course's text models: one way to open a model, one way to run it.

Every caller that turns ids into logits with ONNX Runtime — the runtime, the export check, the
on-device lessons — goes through here, so the interface (:data:`INPUT_NAMES` →
:data:`OUTPUT_NAME`) and the session options are written once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from common.bundle.manifest import INPUT_NAMES, OUTPUT_NAME


def open_session(path: str | Path, *, threads: int | None = None) -> ort.InferenceSession:
    """A CPU session for an ``.onnx`` or ``.ort`` file.

    ``threads`` fixes the thread count and turns off busy-waiting between calls: a server
    answers many tiny calls, and concurrent requests should not fight over the cores.
    """
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def session_logits(session: ort.InferenceSession, word_ids: np.ndarray,
                   ngram_ids: np.ndarray) -> np.ndarray:
    """Logits ``[batch, classes]`` for two id matrices ``[batch, time]``."""
    feeds = dict(zip(INPUT_NAMES, (word_ids, ngram_ids), strict=True))
    return session.run([OUTPUT_NAME], feeds)[0]
