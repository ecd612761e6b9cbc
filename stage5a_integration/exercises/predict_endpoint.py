"""Exercise 5a.1 — a typed FastAPI ``/predict`` on the torch-free runtime.

Write ``create_app(runtime)``: a FastAPI app with one endpoint, ``POST /predict``, that takes
``{"text": "..."}`` and answers ``{"label": "...", "probability": 0.97}`` from
``runtime.predict([text])[0]`` (a ``common.bundle.runtime.TextClassifierRuntime``: no PyTorch
needed).
Declare the request and the response as pydantic models, so FastAPI validates the request and
documents both in ``/openapi.json``; a text that is empty or only spaces must be refused with
422 (FastAPI's validation error), before the model ever sees it.

    def create_app(runtime) -> FastAPI

Done when ``mlcourse check 5a.1`` passes (it needs the ``serve`` extra: ``pip install -e
'.[serve]'``). Driving the app with FastAPI's ``TestClient``, the check verifies: a text gets 200
with the runtime's own label and probability; an empty text, a text of spaces, a missing
``text`` and a number instead of a string get 422; and the OpenAPI schema names a request model
with ``text`` and a response model with ``label`` and ``probability``.
"""

from fastapi import FastAPI

from common.bundle.runtime import TextClassifierRuntime


def create_app(runtime: TextClassifierRuntime) -> FastAPI:
    """The app: ``POST /predict`` with a typed request and response."""
    raise NotImplementedError
