"""Checks for exercise 5a.1: answers, validation errors and the OpenAPI schema, via TestClient."""

from __future__ import annotations

import importlib.util
from functools import cache
from types import ModuleType
from typing import Any

from common.bundle.runtime import TextClassifierRuntime
from common.checks import check, expect
from stage3_text.checks.fixtures import tiny_classifier

TEXT = "WIN a FREE prize now, call to claim"


@cache
def runtime() -> TextClassifierRuntime:
    tiny = tiny_classifier()
    return TextClassifierRuntime.from_files(tiny.spec_path, tiny.model_path, tiny.labels)


def client(learner: ModuleType) -> Any:
    expect(importlib.util.find_spec("httpx") is not None,
           expected="the serve extra installed", seen="httpx is missing",
           hint="pip install -e '.[serve]'")
    from fastapi.testclient import TestClient

    return TestClient(learner.create_app(runtime()))


@check("POST /predict answers 200 with the runtime's label and probability",
       hint="return the fields of runtime.predict([text])[0]: its .label and .probability")
def answers(learner: ModuleType) -> None:
    response = client(learner).post("/predict", json={"text": TEXT})
    expect(response.status_code == 200, expected="status 200",
           seen=f"{response.status_code}: {response.text[:120]}")
    body = response.json()
    expected = runtime().predict([TEXT])[0]
    expect(isinstance(body, dict) and body.get("label") == expected.label
           and abs(float(body.get("probability", -1)) - expected.probability) <= 1e-6,
           expected=f"{{'label': {expected.label!r}, 'probability': {expected.probability:.4f}}}",
           seen=f"{body!r}"[:160])


@check("an empty text and a text of spaces get 422",
       hint="declare text with StringConstraints(strip_whitespace=True, min_length=1) (or "
            "Field(min_length=1) plus a validator that strips): the model must never see ''")
def refuses_blank_text(learner: ModuleType) -> None:
    app = client(learner)
    for text in ("", "   "):
        response = app.post("/predict", json={"text": text})
        expect(response.status_code == 422, expected=f"422 for text {text!r}",
               seen=f"{response.status_code}: {response.text[:120]}")


@check("a missing text and a number instead of a string get 422",
       hint="take a pydantic model as the endpoint's parameter, not a dict or query string")
def refuses_malformed_bodies(learner: ModuleType) -> None:
    app = client(learner)
    for body in ({}, {"text": 5}, {"message": TEXT}):
        response = app.post("/predict", json=body)
        expect(response.status_code == 422, expected=f"422 for {body!r}",
               seen=f"{response.status_code}: {response.text[:120]}")


@check("the OpenAPI schema has a request model with text and a response with label, probability",
       hint="give the route response_model=YourResponse (or a return annotation) and the "
            "parameter a pydantic request model")
def typed_schema(learner: ModuleType) -> None:
    schema = client(learner).get("/openapi.json").json()
    operation = schema.get("paths", {}).get("/predict", {}).get("post", {})

    def properties(node: dict[str, Any]) -> set[str]:
        reference = node.get("$ref", "")
        if reference:
            node = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]
        return set(node.get("properties", {}))

    request = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    response = (operation.get("responses", {}).get("200", {}).get("content", {})
                .get("application/json", {}))
    seen_request = properties(request.get("schema", {}))
    seen_response = properties(response.get("schema", {}))
    expect("text" in seen_request and {"label", "probability"} <= seen_response,
           expected="request {text}, response {label, probability}",
           seen=f"request {sorted(seen_request)}, response {sorted(seen_response)}")
