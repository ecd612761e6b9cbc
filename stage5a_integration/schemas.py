"""The service's request and answer shapes (pydantic), shared by REST, gRPC and the OpenAPI docs.

Every error the service gives, whatever produced it, has the same body: ``{"error": code,
"message": what is wrong, "details": [...]}``, so a client needs one error path, not five.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model
from starlette.responses import JSONResponse

from common.bundle.textprep import BLANK_MESSAGE, has_content

DEFAULT_MAX_ITEMS = 256
MAX_DETAILS = 20  # a list of 256 wrong values gives 256 errors; the first few say enough


class ErrorDetail(BaseModel):
    location: str = Field(description="where in the request, e.g. 'texts.3'")
    message: str
    type: str = Field(description="a machine-readable kind, e.g. 'string_too_long'")


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer."""

    error: str = Field(description="a machine-readable code, e.g. 'invalid_request'")
    message: str = Field(description="what is wrong, for people")
    details: list[ErrorDetail] = Field(default_factory=list)


class PredictionOut(BaseModel):
    label: str
    probability: float = Field(ge=0.0, le=1.0, description="the model's probability of `label`")


class PredictResponse(BaseModel):
    predictions: list[PredictionOut] = Field(description="one per text, in the request's order")
    model_version: str


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready"] = "ready"
    model_version: str


class ModelInfo(BaseModel):
    model_version: str
    labels: list[str]
    positive_label: str | None = Field(description="the class that two-class thresholds are for")
    max_items: int = Field(description="most texts in one request")
    max_text_chars: int = Field(description="longest text accepted, in characters")


def predict_request_model(max_items: int, max_text_chars: int) -> type[BaseModel]:
    """``{"texts": [...]}`` with this bundle's limits, so the docs show the real numbers.

    Strict: a number is not silently turned into a text, and unknown fields are refused rather
    than ignored (a typo like ``"text"`` would otherwise pass unnoticed).
    """
    text = Annotated[str, StringConstraints(min_length=1, max_length=max_text_chars),
                     AfterValidator(_readable)]
    texts = Annotated[
        list[text],
        Field(min_length=1, max_length=max_items,
              description=f"1 to {max_items} texts, each 1 to {max_text_chars} characters",
              examples=[["WINNER! Claim your free prize now", "See you at 6?"]]),
    ]
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", strict=True),
        texts=(texts, ...),
    )


def _readable(text: str) -> str:
    """The one rule for empty text (:func:`common.bundle.textprep.has_content`): REST and gRPC
    refuse whitespace- or zero-width-only texts like empty ones."""
    if not has_content(text):
        raise ValueError(BLANK_MESSAGE)
    return text


def _location(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc if part != "body"]
    return ".".join(parts) or "body"


def describe_errors(errors: Iterable[dict[str, Any]]) -> tuple[str, list[ErrorDetail]]:
    """pydantic's error list → one readable sentence and the structured details."""
    details = [ErrorDetail(location=_location(e.get("loc", ())), message=e["msg"], type=e["type"])
               for e in errors]
    shown = "; ".join(f"{d.location}: {d.message}" for d in details[:3])
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return f"invalid request: {shown}{more}", details[:MAX_DETAILS]


def error_response(status: int, error: str, message: str,
                   details: Sequence[ErrorDetail] = (),
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=error, message=message, details=list(details))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)
