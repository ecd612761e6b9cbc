"""The gRPC service: ``Classifier.Predict`` from ``classifier.proto``, on the REST service's model.

The Python message classes are generated from the ``.proto`` when first needed
(``grpc.protos_and_services``, which runs grpcio-tools' protoc in-process), so the repository
holds no generated code that could drift from the ``.proto`` or from the installed protobuf.
Input is checked with the very request model REST uses, so both answer the same limits.

The server takes ``Predict``'s request as raw bytes and parses it itself: when grpcio parses a
request and fails, it answers ``INTERNAL`` (as if the server were at fault); bytes that are not a
``PredictRequest`` are the client's mistake and get ``INVALID_ARGUMENT``.
"""

from __future__ import annotations

import secrets
import sys
from concurrent import futures
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from pydantic import BaseModel, ValidationError

from stage5a_integration.monitoring import ServiceMetrics
from stage5a_integration.predictor import Predictor
from stage5a_integration.schemas import describe_errors

PROTO = "stage5a_integration/classifier.proto"
API_KEY_METADATA = "x-api-key"
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


@cache
def protos_and_services() -> tuple[ModuleType, ModuleType]:
    """The generated ``classifier_pb2`` (messages) and ``classifier_pb2_grpc`` (stubs) modules.

    protoc finds ``.proto`` files through ``sys.path``; an editable install does not put the
    project folder there, so it is appended (last: it shadows nothing).
    """
    if _PACKAGE_ROOT not in sys.path:
        sys.path.append(_PACKAGE_ROOT)
    return grpc.protos_and_services(PROTO)


class ClassifierServicer:
    """Answers ``Predict`` with the shared predictor; bad input → ``INVALID_ARGUMENT``."""

    def __init__(self, predictor: Predictor, request_model: type[BaseModel],
                 metrics: ServiceMetrics, api_key: str | None = None) -> None:
        self.predictor = predictor
        self.request_model = request_model
        self.metrics = metrics
        self.api_key = api_key
        self.protos, _ = protos_and_services()

    def Predict(self, request_bytes: bytes, context: grpc.ServicerContext) -> Any:
        if self.api_key is not None:
            given = dict(context.invocation_metadata()).get(API_KEY_METADATA, "")
            if not secrets.compare_digest(given.encode(), self.api_key.encode()):
                context.abort(grpc.StatusCode.UNAUTHENTICATED,
                              f"missing or wrong '{API_KEY_METADATA}' metadata")
        try:
            request = self.protos.PredictRequest.FromString(request_bytes)
        except DecodeError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"the request is not a PredictRequest message: {error}")
        texts = list(request.texts)
        try:
            self.request_model.model_validate({"texts": texts})
        except ValidationError as error:
            message, _ = describe_errors(error.errors())
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        predictions = self.predictor.predict(texts)
        self.metrics.count_predictions(p.label for p in predictions)
        return self.protos.PredictResponse(
            predictions=[self.protos.Prediction(label=p.label, probability=p.probability)
                         for p in predictions],
            model_version=self.predictor.model_version,
        )


def start_grpc_server(servicer: ClassifierServicer, host: str, port: int,
                      threads: int = 4) -> tuple[grpc.Server, int]:
    """Start serving in background threads; returns the server and its port (``port=0``: any)."""
    protos, _ = protos_and_services()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads))
    predict = grpc.unary_unary_rpc_method_handler(  # no request_deserializer: raw bytes in
        servicer.Predict, response_serializer=protos.PredictResponse.SerializeToString)
    service = protos.DESCRIPTOR.services_by_name["Classifier"].full_name
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {"Predict": predict}),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"gRPC could not listen on {host}:{port} (is the port in use?)")
    server.start()
    return server, bound


def grpc_predict(target: str, texts: list[str], *, api_key: str | None = None,
                 timeout: float = 10.0) -> Any:
    """Call ``Predict`` on ``target`` ("host:port"); raises ``grpc.RpcError`` on failure."""
    protos, services = protos_and_services()
    metadata = ((API_KEY_METADATA, api_key),) if api_key else None
    with grpc.insecure_channel(target) as channel:
        stub = services.ClassifierStub(channel)
        return stub.Predict(protos.PredictRequest(texts=texts), timeout=timeout,
                            metadata=metadata)

