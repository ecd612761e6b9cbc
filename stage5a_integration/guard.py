"""Refuse requests the service will not serve before any work is done, in this order:

1. **401** without the right API key (when one is set), on every path but the probes: the key is
   a header, so it is checked before a byte of the body is read or parsed;
2. **415** unless the body is ``application/json``; **400** for a Content-Length that is not a
   number; **413** for a body over the limit, cut off while it streams in;
3. **408** when the body does not arrive within ``body_timeout_s`` of the headers: a client that
   sends half a request and stalls is cut off and its connection closed, so a few hundred slow
   clients cannot hold the worker's memory and sockets (uvicorn's ``timeout_keep_alive`` only
   covers idle connections between requests);
4. **422** for a JSON object with a repeated key (``{"texts": [...], "texts": [...]}``), which
   ``json.loads`` would quietly resolve to the last one.

Checked in front of FastAPI because all of it is cheap to tell from the headers and the raw
bytes, and because a huge or slow body must be stopped while it streams in, not after.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stage5a_integration.schemas import ErrorDetail, error_response

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_BODY_TIMEOUT_S = 10.0
METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}
OPEN_PATHS = frozenset({"/health", "/ready"})  # probes answer without the key
API_KEY_HEADER = "X-API-Key"


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for ``json.loads``: an object, unless a key repeats."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def repeated_key(body: bytes) -> str | None:
    """The first key that repeats within one JSON object of ``body``, if any.

    A body that is not valid JSON is left to FastAPI, which says what is wrong with it.
    """
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicates)
    except DuplicateKeyError as error:
        return error.key
    except (ValueError, RecursionError):
        return None
    return None


class RequestGuard:
    """The checks above, as plain ASGI middleware (no task per request)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S, api_key: str | None = None,
                 open_paths: Iterable[str] = OPEN_PATHS) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.api_key = api_key.encode() if api_key else None
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.api_key is not None and scope["path"] not in self.open_paths:
            given = headers.get(API_KEY_HEADER.lower().encode(), b"")
            if not secrets.compare_digest(given, self.api_key):
                await error_response(401, "unauthorized",
                                     f"missing or wrong {API_KEY_HEADER} header")(
                    scope, receive, send)
                return
        if scope["method"] not in METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if content_type.split(";")[0].strip().lower() != "application/json":
            shown = content_type or "none"
            await error_response(
                415, "unsupported_media_type",
                f"send the body as JSON with 'Content-Type: application/json' (got {shown!r})",
            )(scope, receive, send)
            return
        declared = headers.get(b"content-length")
        if declared is not None and not declared.isdigit():
            await error_response(400, "bad_request", "Content-Length is not a number")(
                scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_body_bytes:
            await self._too_large(int(declared), scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.body_timeout_s):
                body = await self._read_body(receive)
        except TimeoutError:
            await error_response(
                408, "request_timeout",
                f"the request body did not arrive within {self.body_timeout_s:g} s",
                headers={"Connection": "close"})(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        if len(body) > self.max_body_bytes:  # chunked, no Content-Length: counted as it came
            await self._too_large(len(body), scope, receive, send)
            return
        key = repeated_key(body)
        if key is not None:
            detail = ErrorDetail(location=key, message="this key appears twice in one object",
                                 type="duplicate_key")
            await error_response(422, "invalid_request",
                                 f"invalid request: the key {key!r} appears more than once "
                                 "in one JSON object", [detail])(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, but stop reading one byte past the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body_bytes or not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, size: int, scope: Scope, receive: Receive, send: Send) -> None:
        message = (f"request body is {size:,} bytes or more; the limit is "
                   f"{self.max_body_bytes:,} (send fewer or shorter texts per request)")
        await error_response(413, "payload_too_large", message,
                             headers={"Connection": "close"})(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then waits as usual."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
