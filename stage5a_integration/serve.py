"""Serve a model bundle over REST (FastAPI + uvicorn) and, optionally, gRPC.

Run: ``mlcourse serve [--bundle DIR] [--host 127.0.0.1] [--port 8000] [--workers N]
[--grpc-port P] [--grpc-only]`` (or ``python -m stage5a_integration.serve ...``).

The bundle is checked here, before any worker starts, so a missing, damaged or regression bundle
ends with one clear line instead of a crash in every worker. With ``--workers N > 1`` uvicorn
starts N processes that each load the model; Prometheus metrics then run in multiprocess mode
so that ``/metrics`` adds up all of them, and each worker also answers gRPC on the shared
``--grpc-port`` (gRPC binds with ``SO_REUSEPORT``; the kernel spreads connections).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from common.bundle.errors import BundleError
from common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from common.lesson import (
    HelpFormatter,
    LessonArgumentParser,
    add_bundle_flag,
    positive_float,
    positive_int,
)
from common.paths import chosen_bundle
from stage5a_integration.api import ServiceSettings, create_app
from stage5a_integration.monitoring import MULTIPROCESS_ENV
from stage5a_integration.predictor import load_predictor

BUNDLE_ENV = "MLCOURSE_SERVE_BUNDLE"
SETTINGS_ENV = "MLCOURSE_SERVE_SETTINGS"


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = LessonArgumentParser(
        prog="mlcourse serve", description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    add_bundle_flag(parser, "model bundle folder (stage 4's output, with an ONNX export)")
    parser.add_argument("--allow-failed", action="store_true",
                        help="serve a bundle whose stage 4 run missed its bars (refused "
                             "otherwise)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0: every interface, e.g. in Docker)")
    parser.add_argument("--port", type=port_number, default=8000, help="REST port")
    parser.add_argument("--workers", type=positive_int, default=1, help="uvicorn processes")
    parser.add_argument("--grpc-port", type=port_number, default=None,
                        help="also serve gRPC on this port (default: no gRPC)")
    parser.add_argument("--grpc-only", action="store_true",
                        help="serve gRPC only (needs --grpc-port), no REST")
    parser.add_argument("--max-items", type=positive_int, default=ServiceSettings.max_items,
                        help="most texts in one request")
    parser.add_argument("--max-body-bytes", type=positive_int,
                        default=ServiceSettings.max_body_bytes, help="largest request body")
    parser.add_argument("--body-timeout", type=positive_float,
                        default=ServiceSettings.body_timeout_s, metavar="SECONDS",
                        help="a request body must arrive within this time of its headers, "
                             "else 408 and the connection is closed")
    parser.add_argument("--noop-endpoint", action="store_true",
                        help="add POST /noop: validates like /predict, skips the model "
                             "(the benchmark's baseline)")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request (costs throughput under load)")
    return parser


def check_port_free(host: str, port: int) -> None:
    """Fail with one line now rather than with uvicorn's log lines after the model loaded."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def app_from_environment() -> Any:
    """The app factory each worker calls (``--workers > 1``): bundle and settings from env."""
    settings = ServiceSettings(**json.loads(os.environ[SETTINGS_ENV]))
    return create_app(load_predictor(Path(os.environ[BUNDLE_ENV])), settings)


def serve_grpc_only(predictor: Any, settings: ServiceSettings) -> int:
    from stage5a_integration.grpc_service import ClassifierServicer, start_grpc_server
    from stage5a_integration.monitoring import ServiceMetrics
    from stage5a_integration.schemas import predict_request_model

    request_model = predict_request_model(settings.max_items, predictor.max_text_chars)
    servicer = ClassifierServicer(predictor, request_model, ServiceMetrics(), settings.api_key)
    host = settings.grpc_host
    server, port = start_grpc_server(servicer, host, settings.grpc_port or 0)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=2.0))
    print(f"gRPC: {host}:{port} (model {predictor.model_version}); Ctrl-C stops", flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=2.0).wait()
    return EXIT_OK


def serve_rest(args: argparse.Namespace, predictor: Any, settings: ServiceSettings) -> int:
    import uvicorn

    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": args.access_log,
                               "log_level": "info", "timeout_graceful_shutdown": 5}
    grpc = f", gRPC on {args.host}:{settings.grpc_port}" if settings.grpc_port is not None else ""
    print(f"REST: http://{args.host}:{args.port} (docs: /docs){grpc}; "
          f"model {predictor.model_version}, {args.workers} worker(s); Ctrl-C stops", flush=True)
    if args.workers == 1:
        server = uvicorn.Server(uvicorn.Config(create_app(predictor, settings), **options))
        server.run()
        return EXIT_OK if server.started else EXIT_FAILED
    metrics_dir = Path(tempfile.mkdtemp(prefix="mlcourse-metrics-"))
    os.environ.update({MULTIPROCESS_ENV: str(metrics_dir), BUNDLE_ENV: str(args.bundle),
                       SETTINGS_ENV: json.dumps(asdict(settings))})
    try:
        uvicorn.run("stage5a_integration.serve:app_from_environment", factory=True,
                    workers=args.workers, **options)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.grpc_only and args.grpc_port is None:
            raise UsageError("--grpc-only needs --grpc-port")
        settings = replace(ServiceSettings.from_environment(), max_items=args.max_items,
                           max_body_bytes=args.max_body_bytes, body_timeout_s=args.body_timeout,
                           noop_endpoint=args.noop_endpoint,
                           grpc_host=args.host, grpc_port=args.grpc_port)
        for port in (args.grpc_port,) if args.grpc_only else (args.port, args.grpc_port):
            if port is not None:
                check_port_free(args.host, port)
        args.bundle = chosen_bundle(args.bundle)
        predictor = load_predictor(args.bundle, allow_failed=args.allow_failed)
    except (UsageError, BundleError) as error:
        print(f"mlcourse serve: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.grpc_only:
        return serve_grpc_only(predictor, settings)
    return serve_rest(args, predictor, settings)


if __name__ == "__main__":
    sys.exit(main())
