"""Refuse bodies the service will not parse before any work is done: wrong type or too large.

Checked in front of FastAPI because both are cheap to tell from the headers, and because a huge
body must be cut off while it streams in, not after it has been read into memory.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stage5a_integration.schemas import error_response

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}


class RequestGuard:
    """415 unless the body is ``application/json``; 413 when it exceeds ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
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
        body = await self._read_body(receive)
        if body is None:  # the client went away
            return
        if len(body) > self.max_body_bytes:  # chunked, no Content-Length: counted as it came
            await self._too_large(len(body), scope, receive, send)
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
