"""Prometheus metrics of the service: requests, errors, latency, predictions per label.

With several uvicorn workers each process counts only its own requests, so a scrape that lands on
one worker would see a fraction of the traffic. prometheus_client's multiprocess mode fixes that:
when ``PROMETHEUS_MULTIPROC_DIR`` is set (``serve.main`` sets it before starting workers), every
process writes its counters to files in that folder and ``/metrics`` adds them all up.
"""

from __future__ import annotations

import os
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Milliseconds matter here: one prediction takes well under 10 ms on a laptop CPU.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# The status recorded when the client went away before the answer was sent (nginx's code for
# "client closed request"): the client's doing, so it is kept apart from the server's 5xx.
CLIENT_DISCONNECTED = 499
CacheStats = Callable[[], Mapping[str, tuple[int, int]]]


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


class ServiceMetrics:
    """The service's metrics, in a registry of their own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlcourse_http_requests_total",
            f"HTTP requests by path, method and status ({CLIENT_DISCONNECTED}: the client left "
            "before the answer)", ("path", "method", "status"), registry=self.registry,
        )
        self.errors = Counter(
            "mlcourse_http_errors_total", "HTTP requests answered with a 4xx or 5xx status",
            ("path", "status"), registry=self.registry,
        )
        self.latency = Histogram(
            "mlcourse_http_request_duration_seconds", "Time to answer an HTTP request",
            ("path",), buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.predictions = Counter(
            "mlcourse_predictions_total", "Texts classified (REST and gRPC), by predicted label",
            ("label",), registry=self.registry,
        )

    def count_predictions(self, labels: Iterable[str]) -> None:
        for label, count in Tally(labels).items():  # one increment per label, not per text
            self.predictions.labels(label).inc(count)

    def watch_caches(self, stats: CacheStats) -> None:
        """Report ``stats()`` (hits, misses by cache name) at every scrape, this process only."""
        self.registry.register(_CacheCollector(stats))

    def render(self) -> bytes:
        """The Prometheus text format: every worker's figures in multiprocess mode."""
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class _CacheCollector:
    """``mlcourse_cache_hits_total`` and ``..._misses_total`` read from the caches themselves."""

    def __init__(self, stats: CacheStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        hits = CounterMetricFamily("mlcourse_cache_hits", "Cache lookups answered from the "
                                   "cache, by cache (this worker)", labels=("cache",))
        misses = CounterMetricFamily("mlcourse_cache_misses", "Cache lookups that had to "
                                     "compute, by cache (this worker)", labels=("cache",))
        for name, (hit, missed) in self.stats().items():
            hits.add_metric((name,), hit)
            misses.add_metric((name,), missed)
        yield hits
        yield misses


def worker_exited(pid: int) -> None:
    """Tell multiprocess mode that a worker is gone (its live-only figures are dropped)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid)


class MetricsMiddleware:
    """Counts and times every HTTP answer, including those other middleware gives (413, 415).

    A plain ASGI middleware rather than ``BaseHTTPMiddleware``: it adds microseconds, not a task
    per request. Paths outside ``known_paths`` are counted as ``other`` so that a scanner probing
    random URLs cannot create unbounded label values. A request whose client disconnected before
    the answer is counted as ``499``, whatever the app did next (an answer to nobody, or
    none): the server did not fail, and a 500 there would page someone for nothing.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, known_paths: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering
        answered = False

        async def receive_and_watch() -> Message:
            nonlocal status
            message = await receive()
            if message["type"] == "http.disconnect" and not answered:
                status = CLIENT_DISCONNECTED
            return message

        async def send_and_record(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start" and status != CLIENT_DISCONNECTED:
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            await send(message)

        try:
            await self.app(scope, receive_and_watch, send_and_record)
        finally:
            path = scope["path"] if scope["path"] in self.known_paths else "other"
            self.metrics.requests.labels(path, scope["method"], str(status)).inc()
            if status >= 400 and status != CLIENT_DISCONNECTED:
                self.metrics.errors.labels(path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)
