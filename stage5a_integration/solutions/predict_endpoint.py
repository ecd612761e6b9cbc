"""Exercise 5a.1, a reference answer (the course's full service is ``stage5a_integration.api``)."""

# No ``from __future__ import annotations``: FastAPI reads the annotations at run time.
from typing import Annotated

from fastapi import FastAPI
from pydantic import BaseModel, Field, StringConstraints

from common.bundle.runtime import TextClassifierRuntime

# strip_whitespace first, then min_length: "   " becomes "" and is refused.
NonBlankText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class PredictRequest(BaseModel):
    text: NonBlankText = Field(description="the message to classify")


class PredictResponse(BaseModel):
    label: str
    probability: float = Field(ge=0.0, le=1.0)


def create_app(runtime: TextClassifierRuntime) -> FastAPI:
    """The app: ``POST /predict`` with a typed request and response."""
    app = FastAPI(title="text classifier")

    @app.post("/predict", response_model=PredictResponse)
    def predict(request: PredictRequest) -> PredictResponse:
        prediction = runtime.predict([request.text])[0]
        return PredictResponse(label=prediction.label, probability=prediction.probability)

    return app
