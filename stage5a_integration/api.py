"""The REST service: a FastAPI app factory around one :class:`Predictor`.

``create_app(predictor, settings)`` builds the app; uvicorn runs it (see ``serve.py``) and tests
drive it through ``TestClient``. The app starts (lifespan) by warming the model up and, when asked,
the gRPC server on the same predictor; ``/ready`` answers 200 only after that.

Every answer is in the OpenAPI schema (``/openapi.json``, ``/docs``), errors included: each is a
JSON :class:`ErrorBody` with a 4xx status that says what was wrong with the request. The checks
that need no parsing (API key, content type, size, read timeout, repeated keys) run first, in
:class:`~stage5a_integration.guard.RequestGuard`.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at run
# time, and the request model is built per app (the bundle's limits), so it is a local name.

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from common.bundle.runtime import Prediction
from stage5a_integration.batching import MicroBatcher
from stage5a_integration.guard import (
    API_KEY_HEADER,
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_MAX_BODY_BYTES,
    OPEN_PATHS,
    RequestGuard,
)
from stage5a_integration.monitoring import (
    CONTENT_TYPE,
    MetricsMiddleware,
    ServiceMetrics,
    worker_exited,
)
from stage5a_integration.predictor import Predictor
from stage5a_integration.schemas import (
    DEFAULT_MAX_ITEMS,
    ErrorBody,
    HealthResponse,
    ModelInfo,
    PredictionOut,
    PredictResponse,
    ReadyResponse,
    describe_errors,
    error_response,
    predict_request_model,
)

API_KEY_ENV = "MLCOURSE_API_KEY"


@dataclass(frozen=True)
class ServiceSettings:
    """What an operator may tune; the text limit comes from the bundle."""

    max_items: int = DEFAULT_MAX_ITEMS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S  # a slower body gets 408 and is cut off
    api_key: str | None = None
    noop_endpoint: bool = False  # POST /noop, for the benchmark's baseline
    grpc_host: str = "127.0.0.1"
    grpc_port: int | None = None  # None: no gRPC; 0: any free port

    @classmethod
    def from_environment(cls, **overrides: Any) -> "ServiceSettings":
        """Settings with the API key read from ``MLCOURSE_API_KEY`` (unset or empty: no key)."""
        return cls(api_key=os.environ.get(API_KEY_ENV) or None, **overrides)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("The body is not valid JSON, or its Content-Length is not a number"),
    408: _error("The body did not arrive within the server's read timeout"),
    413: _error("The body is larger than the server's limit"),
    415: _error("The body is not sent as application/json"),
    422: _error("Valid JSON, wrong content: missing, unknown or repeated fields, wrong types, "
                "an empty list, too many texts, an empty or too long text"),
    500: _error("A fault in the service (never caused by the request)"),
}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error(f"The {API_KEY_HEADER} header is missing or wrong (only when a key is set)"),
}


def create_app(predictor: Predictor, settings: ServiceSettings | None = None) -> FastAPI:
    """The REST app for ``predictor`` (see ``load_predictor`` for one from a bundle)."""
    settings = settings or ServiceSettings()
    metrics = ServiceMetrics()
    predict_request = predict_request_model(settings.max_items, predictor.max_text_chars)
    fixed_prediction = PredictionOut(label=predictor.labels[0], probability=1.0)
    metrics.watch_caches(predictor.cache_stats)

    def predict_and_count(texts: Sequence[str]) -> list[Prediction]:
        predictions = predictor.predict(texts)
        metrics.count_predictions(p.label for p in predictions)  # once per batch, not request
        return predictions

    batcher = MicroBatcher(predict_and_count)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(predictor.predict, ["warm-up"])  # first call allocates
        grpc_server = None
        if settings.grpc_port is not None:
            from stage5a_integration.grpc_service import ClassifierServicer, start_grpc_server

            servicer = ClassifierServicer(predictor, predict_request, metrics, settings.api_key)
            grpc_server, app.state.grpc_port = start_grpc_server(
                servicer, settings.grpc_host, settings.grpc_port)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            if grpc_server is not None:
                grpc_server.stop(grace=2.0).wait()
            worker_exited(os.getpid())

    app = FastAPI(
        title="ml-roadmap text classifier",
        version=predictor.model_version,
        description="Classifies short texts with a model bundle from stage 4 (ONNX Runtime, "
                    "no PyTorch). Every error is a JSON body with `error` and `message`.",
        lifespan=lifespan,
    )
    app.state.ready = False
    app.state.grpc_port = None
    app.state.metrics = metrics

    protected = [Depends(_api_key_scheme())] if settings.api_key else []
    auth_errors = AUTH_ERRORS if settings.api_key else {}

    @app.post("/predict", response_model=PredictResponse, dependencies=protected,
              responses={**BODY_ERRORS, **auth_errors}, summary="Classify texts")
    async def predict(request: predict_request) -> PredictResponse:  # type: ignore[valid-type]
        predictions = await batcher.predict(request.texts)
        # The runtime's labels and probabilities need no validation: construct, don't check.
        return PredictResponse.model_construct(
            predictions=[PredictionOut.model_construct(label=p.label, probability=p.probability)
                         for p in predictions],
            model_version=predictor.model_version,
        )

    if settings.noop_endpoint:
        @app.post("/noop", response_model=PredictResponse, dependencies=protected,
                  responses={**BODY_ERRORS, **auth_errors},
                  summary="Validate like /predict, answer a fixed prediction (benchmark baseline)")
        async def noop(request: predict_request) -> PredictResponse:  # type: ignore[valid-type]
            return PredictResponse(predictions=[fixed_prediction] * len(request.texts),
                                   model_version="noop")

    @app.get("/health", response_model=HealthResponse, summary="The process is alive")
    async def health() -> HealthResponse:
        return HealthResponse()

    @app.get("/ready", response_model=ReadyResponse, summary="The model is loaded and warm",
             responses={503: _error("Still starting (or stopping): send no traffic yet")})
    async def ready() -> Any:
        if not app.state.ready:
            return error_response(503, "not_ready", "the model is not loaded and warm yet")
        return ReadyResponse(model_version=predictor.model_version)

    @app.get("/model", response_model=ModelInfo, dependencies=protected, responses=auth_errors,
             summary="The served model: labels, version and request limits")
    async def model_info() -> ModelInfo:
        return ModelInfo(model_version=predictor.model_version, labels=list(predictor.labels),
                         positive_label=predictor.positive_label, max_items=settings.max_items,
                         max_text_chars=predictor.max_text_chars)

    @app.get("/metrics", response_class=Response, dependencies=protected,
             summary="Prometheus metrics: requests, errors, latency, predictions",
             responses={200: {"content": {CONTENT_TYPE: {}},
                              "description": "Prometheus text format"}, **auth_errors})
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    _install_error_handlers(app)
    known_paths = {route.path for route in app.routes}  # type: ignore[attr-defined]
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes,
                       body_timeout_s=settings.body_timeout_s, api_key=settings.api_key,
                       open_paths=OPEN_PATHS)
    app.add_middleware(MetricsMiddleware, metrics=metrics, known_paths=known_paths)
    return app


def _api_key_scheme() -> APIKeyHeader:
    """The key as an OpenAPI security scheme, so ``/docs`` shows it on the routes it guards.

    Only documentation: :class:`RequestGuard` checks the key on every path but the probes
    (``/docs`` and ``/openapi.json`` included) before the body is read.
    """
    return APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                        description=f"the key set in ${API_KEY_ENV} on the server")


def _install_error_handlers(app: FastAPI) -> None:
    """Every failure becomes an :class:`ErrorBody`; nothing leaks FastAPI's default shapes."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            context = next(e for e in errors if e["type"] == "json_invalid").get("ctx", {})
            reason = context.get("error", "unreadable")
            return error_response(400, "invalid_json", f"the body is not valid JSON: {reason}")
        if any(tuple(e.get("loc", ())) == ("body",) and e["type"] == "missing" for e in errors):
            return error_response(422, "invalid_request",
                                  'the request has no body; send {"texts": ["..."]}')
        message, details = describe_errors(errors)
        return error_response(422, "invalid_request", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed"}
        message = str(error.detail)
        if error.status_code == 400:  # FastAPI could not decode the body at all
            message = "the body is not valid JSON text (UTF-8, not nested too deeply)"
        elif error.status_code == 404:
            message = f"no such path: {request.url.path} (see /docs)"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(error.status_code, codes.get(error.status_code, "http_error"),
                              message, headers=error.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        return error_response(500, "internal_error",
                              f"the service failed: {type(error).__name__}")
