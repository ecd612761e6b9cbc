"""How fast is the model, and how fast is the service? Two benchmarks, one report.

Run: ``python -m stage5a_integration.bench [--bundle DIR] [--duration S] [--rounds N]
[--skip-http] [--quick] [--json]`` (or ``make bench-serve``). Needs ``wrk`` for the HTTP part.

1. **In process**, the same encoded inputs through PyTorch eager, TorchScript and ONNX Runtime,
   at batch 1 and 64: latency p50/p95 of the model call alone, plus the service's whole path
   (preprocessing + ONNX Runtime + labels) for scale, and its preprocessing alone (raw texts
   to padded ids) to show where the service's time goes.
2. **Over HTTP**, one uvicorn worker started here on 127.0.0.1 (``mlcourse serve
   --noop-endpoint``): ``wrk`` sends one text per request with 32 connections for a fixed
   duration to ``POST /predict`` and to ``POST /noop``, which parses and validates the same
   request but skips the model. The gap between the two is what the model costs; the rest is
   HTTP, JSON and FastAPI. Rounds alternate between the endpoints so background load hits both.
   The texts are thousands of distinct ones (the bundle's splits, then numbered variants of
   them), sent in turn, so no cache of earlier answers could explain the figure; the only
   caches on the path, the encoder's ids per token and per n-gram (used by ``ngram_scope =
   "token"`` specs; ``"text"`` n-grams are hashed per batch), report their hit rates through
   ``/metrics``.
3. **Workers**, ``POST /predict`` again with ``mlcourse serve --workers N`` for each N of
   ``--workers`` (default 1,2): what one more process on this machine adds, side by side.

The results go to ``runs/stage5a_integration/bench/bench.json`` (the business case reads it),
a table, and a PNG. Figures depend on the machine and on what else runs: re-measure, compare
ratios rather than absolute numbers.
"""

# %%
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from common.bundle.errors import BundleError
from common.bundle.manifest import INPUT_NAMES, OUTPUT_NAME, Bundle, load_bundle
from common.errors import UsageError
from common.lesson import add_bundle_flag, lesson_main, lesson_parser, positive_int
from common.paths import chosen_bundle, runs_dir
from common.summary import LessonSummary

STAGE, LESSON = "stage5a_integration", "bench"
BENCH_JSON = "bench.json"
WRK_SCRIPT = Path(__file__).with_name("wrk_post.lua")
BATCH_SIZES = (1, 64)
ENGINES = ("pytorch_eager", "torchscript", "onnxruntime")
SERVICE_PARTS = ("preprocessing", "service_path")  # raw texts → ids, and raw texts → labels
MIN_RPS, MIN_NOOP_SHARE, MIN_REQUESTS = 500.0, 0.8, 5000
MIN_DISTINCT_TEXTS = 5000  # texts in the load generator's rotation
MAX_SERVICE_OVER_ORT = 2.0  # the service path at batch 64 against ONNX Runtime alone
BODIES_FILE = "bodies.jsonl"
READY_TIMEOUT_S = 90.0
STARTED_LINE = "Application startup complete"  # what uvicorn logs once per worker


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    add_bundle_flag(parser, "model bundle with ONNX and TorchScript exports")
    parser.add_argument("--repeats", type=positive_int, default=300,
                        help="timed calls per engine and batch size (--quick: 30)")
    parser.add_argument("--duration", type=positive_int, default=10,
                        help="seconds of load per endpoint and round (--quick: 2)")
    parser.add_argument("--rounds", type=positive_int, default=2,
                        help="rounds of /noop then /predict (--quick: 1)")
    parser.add_argument("--concurrency", type=positive_int, default=32,
                        help="open connections wrk keeps busy")
    parser.add_argument("--workers", type=worker_counts, default=(1, 2),
                        help="uvicorn worker counts to compare on POST /predict, e.g. 1,2,4")
    parser.add_argument("--skip-http", action="store_true", help="in-process latency only")
    return parser


def worker_counts(text: str) -> tuple[int, ...]:
    """``1,2`` → ``(1, 2)``: distinct numbers of worker processes, in the order given."""
    counts = tuple(dict.fromkeys(positive_int(part.strip()) for part in text.split(",")))
    if not counts:
        raise argparse.ArgumentTypeError(f"expected worker counts such as 1,2, got {text!r}")
    return counts


def default_bench_json() -> Path:
    """Where this benchmark writes its results by default (the business case reads them)."""
    return Path.cwd() / "runs" / STAGE / LESSON / BENCH_JSON


# %% In process: the model call alone, three engines
def time_calls(call: Callable[[], object], repeats: int, warmup: int = 10) -> dict[str, float]:
    for _ in range(warmup):
        call()
    seconds = np.empty(repeats)
    for index in range(repeats):
        started = time.perf_counter()
        call()
        seconds[index] = time.perf_counter() - started
    p50, p95 = np.percentile(seconds * 1e3, [50, 95])
    return {"p50_ms": float(p50), "p95_ms": float(p95)}


def inprocess_latency(bundle_dir: Path, repeats: int) -> list[dict[str, Any]]:
    import torch

    from stage3_text.classifier import encode_tensors
    from stage4_own_data import load_bundle_model
    from stage5a_integration.export import load_torchscript, split_texts
    from stage5a_integration.predictor import load_predictor

    predictor = load_predictor(bundle_dir)  # the service's own loader and ONNX Runtime session
    loaded = load_bundle_model(predictor.bundle)
    script = load_torchscript(predictor.bundle.export_path("torchscript"))
    texts = split_texts(predictor.bundle, max(BATCH_SIZES))
    rows = []
    for batch in BATCH_SIZES:
        words, ngrams = encode_tensors(loaded.encoder, texts[:batch])
        feeds = dict(zip(INPUT_NAMES, (words.numpy(), ngrams.numpy()), strict=True))
        calls: dict[str, Callable[[], object]] = {
            "pytorch_eager": lambda w=words, n=ngrams: loaded.model(w, n),
            "torchscript": lambda w=words, n=ngrams: script(w, n),
            "onnxruntime": lambda f=feeds: predictor.runtime.session.run([OUTPUT_NAME], f),
            "preprocessing": lambda t=texts[:batch]: predictor.runtime.encoder.encode_batch(t),
            "service_path": lambda t=texts[:batch]: predictor.predict(t),
        }
        with torch.inference_mode():
            for engine, call in calls.items():
                timing = time_calls(call, repeats if batch == 1 else max(10, repeats // 4))
                rows.append({"engine": engine, "batch": batch, **timing})
    return rows


def latency_of(rows: list[dict[str, Any]], engine: str, batch: int) -> float:
    return next(r["p50_ms"] for r in rows if r["engine"] == engine and r["batch"] == batch)


def service_over_onnxruntime(rows: list[dict[str, Any]], batch: int) -> float:
    """How many times ONNX Runtime's own time the service's whole path takes at ``batch``."""
    return latency_of(rows, "service_path", batch) / latency_of(rows, "onnxruntime", batch)


# %% The texts wrk sends: thousands of distinct ones, made the same way every run
def distinct_texts(bundle: Bundle, count: int) -> list[str]:
    """``count`` distinct texts: the bundle's split texts, then numbered variants of them.

    Deterministic (no randomness), each within the bundle's ``max_text_chars``. The variants
    share their words with real messages, as new traffic does, but never a whole text.
    """
    from stage5a_integration.export import split_texts

    base = list(dict.fromkeys(split_texts(bundle, count)))
    texts: dict[str, None] = {}
    for variant in range(count + 1):
        for text in base:
            if len(texts) == count:
                return list(texts)
            suffix = f" ({variant})" if variant else ""
            texts[text[: bundle.max_text_chars - len(suffix)] + suffix] = None
    raise UsageError(f"{bundle.root}: its splits hold no text to send")


def write_bodies(texts: list[str], path: Path) -> Path:
    """One JSON request body per line, as ``wrk_post.lua`` reads them."""
    path.write_text("".join(json.dumps({"texts": [text]}, ensure_ascii=False) + "\n"
                            for text in texts), encoding="utf-8")
    return path


# %% Over HTTP: one uvicorn worker, wrk as the load generator
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Poll ``/ready`` until 200, the process dies, or the deadline passes (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UsageError(f"the service exited with code {process.returncode} before it "
                             "was ready (see its log)")
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)  # a short back-off between polls, not a wait for readiness
    raise UsageError(f"the service was not ready within {timeout:.0f} s")


def wait_for_workers(log_path: Path, workers: int, process: subprocess.Popen,
                     timeout: float) -> None:
    """Until every uvicorn worker has logged its start: a ready ``/ready`` may be only the first."""
    deadline = time.monotonic() + timeout
    while log_path.read_text(errors="replace").count(STARTED_LINE) < workers:
        if process.poll() is not None or time.monotonic() > deadline:
            raise UsageError(f"not all {workers} service workers started (see {log_path})")
        time.sleep(0.05)  # a short back-off between looks at the log


@contextmanager
def running_service(bundle_dir: Path, log_path: Path, workers: int = 1) -> Iterator[str]:
    """``python -m stage5a_integration.serve`` with ``/noop``, stopped at the end."""
    port = free_port()
    command = [sys.executable, "-m", "stage5a_integration.serve", "--bundle", str(bundle_dir),
               "--port", str(port), "--workers", str(workers), "--noop-endpoint"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")]))}
    env.pop("MLCOURSE_API_KEY", None)  # the benchmark measures the open service
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(url, process, READY_TIMEOUT_S)
            wait_for_workers(log_path, workers, process, READY_TIMEOUT_S)
            yield url
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0].strip()


def run_wrk(wrk: str, url: str, seconds: int, concurrency: int, bodies: Path) -> dict[str, Any]:
    """One wrk run; the Lua script's JSON line, plus requests per second."""
    command = [wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "5s",
               "-s", str(WRK_SCRIPT), url, "--", str(bodies)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise UsageError(f"wrk failed: {(result.stderr or result.stdout).strip()[:200]}")
    measured = json.loads(lines[-1])
    measured["failed"] = sum(measured["errors"].values())
    measured["rps"] = measured["requests"] / (measured["duration_us"] / 1e6)
    return measured


def cache_counts(url: str) -> dict[str, dict[str, float]]:
    """The service's cache hits and misses so far, by cache, read from ``/metrics``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        text = answer.read().decode("utf-8")
    counts: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        for kind in ("hits", "misses"):
            prefix = f'mlcourse_cache_{kind}_total{{cache="'
            if line.startswith(prefix):
                name, value = line[len(prefix):].split('"}')
                counts.setdefault(name, {})[kind] = float(value)
    return counts


def hit_rates(before: dict[str, dict[str, float]],
              after: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per cache: hits and misses between two readings, and the share of hits."""
    rates = {}
    for name, counts in after.items():
        hits = counts.get("hits", 0.0) - before.get(name, {}).get("hits", 0.0)
        misses = counts.get("misses", 0.0) - before.get(name, {}).get("misses", 0.0)
        rates[name] = {"hits": hits, "misses": misses,
                       "hit_rate": hits / (hits + misses) if hits + misses else 0.0}
    return rates


def request_bodies(bundle_dir: Path, out: Path) -> tuple[list[str], Path]:
    """The distinct texts every load run sends, and the file wrk_post.lua reads them from."""
    texts = distinct_texts(load_bundle(bundle_dir), MIN_DISTINCT_TEXTS)
    return texts, write_bodies(texts, out / BODIES_FILE)


def http_benchmark(bundle_dir: Path, out: Path, *, seconds: int, rounds: int,
                   concurrency: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise UsageError("the HTTP benchmark needs wrk (Debian/Ubuntu: apt-get install wrk; "
                         "macOS: brew install wrk), or pass --skip-http")
    texts, bodies = request_bodies(bundle_dir, out)
    runs: dict[str, list[dict[str, Any]]] = {"noop": [], "predict": []}
    with running_service(bundle_dir, out / "service.log") as url:
        for endpoint in runs:  # warm-up: first connections, first allocations
            run_wrk(wrk, f"{url}/{endpoint}", 1, concurrency, bodies)
        caches_before = cache_counts(url)
        for round_index in range(rounds):
            for endpoint, results in runs.items():
                result = run_wrk(wrk, f"{url}/{endpoint}", seconds, concurrency, bodies)
                results.append(result)
                print(f"  round {round_index + 1}/{rounds} POST /{endpoint:<8} "
                      f"{result['rps']:8.0f} req/s  p50 {result['latency_us']['p50'] / 1e3:6.2f}"
                      f" ms  failed {result['failed']}")
        caches = hit_rates(caches_before, cache_counts(url))
    endpoints = {}
    for endpoint, results in runs.items():
        median = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
        endpoints[endpoint] = {
            "rps": median["rps"],
            "latency_ms": {k: v / 1e3 for k, v in median["latency_us"].items()},
            "requests": sum(r["requests"] for r in results),
            "failed": sum(r["failed"] for r in results),
            "rounds_rps": [r["rps"] for r in results],
        }
    return {"load_generator": wrk_version(wrk), "concurrency": concurrency,
            "seconds_per_round": seconds, "rounds": rounds, "workers": 1, "host": "127.0.0.1",
            "request": f"one text per POST, {len(texts)} distinct texts in turn (wrk_post.lua)",
            "distinct_texts": len(texts), "caches": caches, "endpoints": endpoints,
            "predict_share_of_noop": endpoints["predict"]["rps"] / endpoints["noop"]["rps"]}


def workers_benchmark(bundle_dir: Path, out: Path, *, workers: tuple[int, ...], seconds: int,
                      rounds: int, concurrency: int) -> list[dict[str, Any]]:
    """``POST /predict`` req/s with each number of uvicorn workers (median of ``rounds``).

    Each worker is a process with its own copy of the model: more of them use more cores, but
    only while cores are free (wrk itself needs one on this machine).
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise UsageError("the workers benchmark needs wrk, or pass --skip-http")
    _, bodies = request_bodies(bundle_dir, out)
    rows = []
    for count in workers:
        with running_service(bundle_dir, out / f"service-{count}-workers.log", count) as url:
            run_wrk(wrk, f"{url}/predict", 1, concurrency, bodies)  # warm-up
            results = [run_wrk(wrk, f"{url}/predict", seconds, concurrency, bodies)
                       for _ in range(rounds)]
        median = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
        rows.append({"workers": count, "rps": median["rps"],
                     "p50_ms": median["latency_us"]["p50"] / 1e3,
                     "p95_ms": median["latency_us"]["p95"] / 1e3,
                     "failed": sum(r["failed"] for r in results),
                     "rounds_rps": [r["rps"] for r in results]})
        print(f"  {count} worker(s): POST /predict {median['rps']:8.0f} req/s")
    return rows


def print_workers_table(rows: list[dict[str, Any]]) -> None:
    baseline = rows[0]["rps"]
    print(f"\n{'workers':<9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'failed':>8}"
          f"{'vs ' + str(rows[0]['workers']):>8}   (POST /predict, {os.cpu_count()} CPUs)")
    for row in rows:
        print(f"{row['workers']:<9}{row['rps']:>9.0f}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
              f"{row['failed']:>8}{row['rps'] / baseline:>7.2f}x")


# %% Report
def print_tables(rows: list[dict[str, Any]], http: dict[str, Any] | None) -> None:
    print(f"\n{'engine':<15}{'batch':>6}{'p50 ms':>10}{'p95 ms':>10}")
    for row in rows:
        print(f"{row['engine']:<15}{row['batch']:>6}{row['p50_ms']:>10.3f}{row['p95_ms']:>10.3f}")
    if http is None:
        return
    print(f"\n{'endpoint':<15}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'requests':>10}{'failed':>8}   ({http['load_generator']}, "
          f"{http['concurrency']} connections, 1 worker)")
    for name, result in http["endpoints"].items():
        latency = result["latency_ms"]
        print(f"POST /{name:<9}{result['rps']:>9.0f}{latency['p50']:>9.2f}{latency['p95']:>9.2f}"
              f"{latency['p99']:>9.2f}{result['requests']:>10}{result['failed']:>8}")
    print(f"/predict at {http['predict_share_of_noop']:.0%} of /noop's rate; "
          f"{http['distinct_texts']:,} distinct texts in turn")
    for name, cache in http["caches"].items():
        print(f"cache {name}: {cache['hit_rate']:.1%} hits ({cache['hits']:,.0f} hits, "
              f"{cache['misses']:,.0f} misses during the load)")


def plot_results(rows: list[dict[str, Any]], http: dict[str, Any] | None, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from common.plots import save_figure

    fig, axes = plt.subplots(1, 2 if http else 1, figsize=(11 if http else 6, 4), squeeze=False)
    engines = sorted({row["engine"] for row in rows}, key=[*ENGINES, *SERVICE_PARTS].index)
    positions = np.arange(len(engines))
    for offset, batch in zip((-0.2, 0.2), BATCH_SIZES, strict=True):
        axes[0, 0].bar(positions + offset, [latency_of(rows, e, batch) for e in engines], 0.4,
                       label=f"batch {batch}")
    axes[0, 0].set(title="In-process latency (p50)", ylabel="ms per call (log scale)",
                   yscale="log", xticks=positions)
    axes[0, 0].set_xticklabels(engines, rotation=15)
    axes[0, 0].legend()
    if http:
        names = list(http["endpoints"])
        axes[0, 1].bar(names, [http["endpoints"][n]["rps"] for n in names], color="tab:green")
        axes[0, 1].axhline(MIN_RPS, color="gray", linestyle="--", label=f"bar: {MIN_RPS:.0f}")
        axes[0, 1].set(title=f"HTTP, 1 worker, {http['concurrency']} connections",
                       ylabel="requests per second")
        axes[0, 1].legend()
    return save_figure(fig, path)


def run(args: argparse.Namespace) -> LessonSummary:
    bundle_dir = chosen_bundle(args.bundle)
    out = runs_dir(STAGE, LESSON, args.out)
    try:
        rows = inprocess_latency(bundle_dir, 30 if args.quick else args.repeats)
    except BundleError as error:
        raise UsageError(f"{error} (run `python -m stage5a_integration.export` first)") from None
    http = None if args.skip_http else http_benchmark(
        bundle_dir, out, seconds=2 if args.quick else args.duration,
        rounds=1 if args.quick else args.rounds, concurrency=args.concurrency)
    workers = None if args.skip_http else workers_benchmark(
        bundle_dir, out, workers=args.workers, seconds=2 if args.quick else args.duration,
        rounds=1 if args.quick else args.rounds, concurrency=args.concurrency)
    print_tables(rows, http)
    if workers:
        print_workers_table(workers)

    speedup = latency_of(rows, "pytorch_eager", 1) / latency_of(rows, "onnxruntime", 1)
    print(f"\nONNX Runtime vs PyTorch eager at batch 1: {speedup:.2f}x "
          f"({'faster' if speedup >= 1 else 'SLOWER'})")
    batch = max(BATCH_SIZES)
    overhead = service_over_onnxruntime(rows, batch)
    print(f"service path vs ONNX Runtime alone at batch {batch}: "
          f"{latency_of(rows, 'service_path', batch):.3f} ms vs "
          f"{latency_of(rows, 'onnxruntime', batch):.3f} ms ({overhead:.2f}x), of which "
          f"preprocessing (tokens, word ids, hashed n-grams, padding) "
          f"{latency_of(rows, 'preprocessing', batch):.3f} ms")
    document = {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "bundle": str(bundle_dir), "machine": {"cpus": os.cpu_count(),
                                                       "platform": platform.platform()},
                "inprocess": rows, "onnxruntime_speedup_batch1": speedup,
                f"service_over_onnxruntime_batch{batch}": overhead, "http": http,
                "http_workers": workers}
    (out / BENCH_JSON).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")

    summary = LessonSummary(STAGE, LESSON, "bench", dataset="bundle splits",
                            extras={"bench": document})
    summary.metrics["onnxruntime_speedup_batch1"] = speedup
    for row in rows:
        summary.metrics[f"{row['engine']}_batch{row['batch']}_p50_ms"] = row["p50_ms"]
    summary.metrics[f"service_over_onnxruntime_batch{batch}"] = overhead
    summary.check(f"ONNX Runtime at batch 1 at least as fast as eager ({speedup:.2f}x)",
                  speedup >= 1.0)
    summary.check(f"service path at batch {batch} within {MAX_SERVICE_OVER_ORT:.0f}x of ONNX "
                  f"Runtime alone ({overhead:.2f}x)", overhead <= MAX_SERVICE_OVER_ORT)
    if http is not None:
        predict, noop = http["endpoints"]["predict"], http["endpoints"]["noop"]
        share = http["predict_share_of_noop"]
        summary.metrics.update({"http_predict_rps": predict["rps"], "http_noop_rps": noop["rps"],
                                "predict_share_of_noop": share,
                                "http_predict_p95_ms": predict["latency_ms"]["p95"],
                                "http_failed": predict["failed"] + noop["failed"]})
        summary.check(f"POST /predict {predict['rps']:.0f} req/s >= {MIN_RPS:.0f}",
                      predict["rps"] >= MIN_RPS)
        summary.check(f"/predict at {share:.0%} of /noop's rate >= {MIN_NOOP_SHARE:.0%}",
                      share >= MIN_NOOP_SHARE)
        needed = 1 if args.quick else MIN_REQUESTS
        for row in workers or []:
            summary.metrics[f"http_predict_rps_{row['workers']}_workers"] = row["rps"]
            summary.check(f"0 failed /predict requests with {row['workers']} worker(s)",
                          row["failed"] == 0)
        summary.check(f"0 failed of {predict['requests']} /predict requests "
                      f"(at least {needed})",
                      predict["failed"] == 0 and predict["requests"] >= needed)
        summary.check(f"{http['distinct_texts']:,} distinct texts, each sent "
                      f"(at least {MIN_DISTINCT_TEXTS:,})",
                      predict["requests"] >= http["distinct_texts"] >= MIN_DISTINCT_TEXTS)
        for name, cache in http["caches"].items():
            summary.metrics[f"cache_{name}_hit_rate"] = cache["hit_rate"]
    summary.outputs += [str(out / BENCH_JSON), str(plot_results(rows, http, out / "bench.png"))]
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
