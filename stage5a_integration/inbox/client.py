"""Calling the classifier service over HTTP, as any other program would.

The inbox learns the service's limits from ``GET /model`` and sends texts in batches that fit;
a text longer than the model accepts is classified by its first ``max_text_chars`` characters
(the message itself is stored whole). Every failure becomes a :class:`ServiceError` with the
service's own message, so the app can say why labelling waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx


class ServiceError(RuntimeError):
    """The service could not be reached or refused the request."""


@dataclass(frozen=True)
class Label:
    label: str
    probability: float
    model_version: str


class ServiceClient:
    """``POST /predict`` and ``GET /model`` of one service. Pass ``http`` to reuse a client."""

    def __init__(self, base_url: str, *, api_key: str | None = None,
                 http: httpx.Client | None = None, timeout: float = 10.0) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.http.headers.update(headers)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ServiceError(f"the classifier service is unreachable: {error}") from None
        if response.status_code != 200:
            try:
                message = response.json()["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise ServiceError(f"the classifier service answered {response.status_code}: "
                               f"{message}")
        return response.json()

    @cached_property
    def model(self) -> dict[str, Any]:
        """``GET /model``: labels, version and limits (asked once per client)."""
        return self._call("GET", "/model")

    def classify(self, texts: Sequence[str]) -> list[Label]:
        """One label per text, in order, in as few requests as the limits allow."""
        batch, limit = self.model["max_items"], self.model["max_text_chars"]
        labels: list[Label] = []
        for start in range(0, len(texts), batch):
            chunk = [text[:limit] for text in texts[start:start + batch]]
            answer = self._call("POST", "/predict", json={"texts": chunk})
            labels += [Label(p["label"], p["probability"], answer["model_version"])
                       for p in answer["predictions"]]
        return labels
