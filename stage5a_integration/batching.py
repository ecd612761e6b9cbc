"""Dynamic batching: concurrent requests share one model call instead of one call each.

Under load, uvicorn reads several requests in one turn of the event loop. Each ``/predict``
hands its texts to :class:`MicroBatcher` and waits; the batcher runs once, right after the
requests that are ready in this turn have queued (``call_soon`` order), classifies all their
texts in one call and gives each request its slice back. Nobody waits on a timer: a lone request
is answered as fast as without batching, and under load the fixed cost of a model call
(ONNX Runtime's dispatch, softmax, Python overhead) is paid once per batch, not per request.

The answers equal unbatched ones up to float rounding: padding is masked out by the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from fastapi.concurrency import run_in_threadpool

Result = TypeVar("Result")

# Batches up to this many texts run on the event loop itself (a thread hop costs more than the
# model does for a few short texts); larger ones go to a worker thread so the loop stays free.
INLINE_TEXTS = 64


class MicroBatcher(Generic[Result]):
    """Coalesces the texts of requests waiting in the same event-loop turn into one call."""

    def __init__(self, predict: Callable[[Sequence[str]], list[Result]],
                 inline_texts: int = INLINE_TEXTS) -> None:
        self._predict = predict
        self._inline_texts = inline_texts
        self._pending: list[tuple[Sequence[str], asyncio.Future[list[Result]]]] = []
        self._flushes: set[asyncio.Task[None]] = set()  # held: the loop keeps weak references

    async def predict(self, texts: Sequence[str]) -> list[Result]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Result]] = loop.create_future()
        self._pending.append((texts, future))
        if len(self._pending) == 1:  # the first of this turn schedules the flush
            flush = loop.create_task(self._flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        return await future

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        texts = [text for request_texts, _ in pending for text in request_texts]
        try:
            if len(texts) <= self._inline_texts:
                results = self._predict(texts)
            else:
                results = await run_in_threadpool(self._predict, texts)
        except Exception as error:  # every waiting request learns of the failure
            for _, future in pending:
                if not future.done():
                    future.set_exception(error)
            return
        start = 0
        for request_texts, future in pending:
            if not future.done():  # a client that went away has its future cancelled
                future.set_result(results[start:start + len(request_texts)])
            start += len(request_texts)
