"""What keeps other web sites out of the inbox: a Host allow-list and same-origin POSTs.

The inbox has no login: whoever can reach its port can use it. Two browser tricks would let any
web page the user visits use it too, and both are refused here, before a form is parsed:

- **DNS rebinding**: a hostile name that resolves to 127.0.0.1 reaches the inbox with its own
  name in the ``Host`` header. Only the names in ``allowed_hosts`` are answered (loopback names by
  default; ``--allowed-host`` adds one); any other Host gets 400
  (starlette's ``TrustedHostMiddleware``).
- **Cross-site request forgery**: a page elsewhere posts a form to ``/messages``, ``/import`` or
  ``/label-pending``. Browsers send an ``Origin`` header with every form POST, so the rule is:
  a POST is accepted only when its ``Origin`` is this inbox's own origin (the scheme and the
  ``Host`` it was reached by); without ``Origin``, its ``Referer`` must start with that origin;
  with neither, it is refused. Refused: 403, and nothing is stored. A script posting with curl
  adds ``-H "Origin: http://127.0.0.1:8001"``.

A POST larger than its path allows is refused here too (413) from its ``Content-Length``, with a
page rather than the form parser's JSON error, and before the body is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

RenderRefusal = Callable[[int, str], str]  # (status, notice) → an HTML page


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lowercased; None when it has none (``null``, junk)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class SameOriginPosts:
    """ASGI middleware: 403 for a cross-origin POST, 413 for one over its size limit."""

    def __init__(self, app: ASGIApp, render: RenderRefusal, max_bytes: Mapping[str, int],
                 default_max_bytes: int) -> None:
        self.app = app
        self.render = render
        self.max_bytes = dict(max_bytes)
        self.default_max_bytes = default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            status, notice = refusal
            await HTMLResponse(self.render(status, notice), status_code=status,
                               headers={"Connection": "close"})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        own = f"{scope['scheme']}://{headers.get('host', '')}".lower()
        if "origin" in headers:
            sent_from = origin_of(headers["origin"])
        elif "referer" in headers:
            sent_from = origin_of(headers["referer"])
        else:
            sent_from = None
        if sent_from != own:
            return 403, ("refused: this form was not sent from the inbox's own page "
                         f"({own}); nothing was stored")
        limit = self.max_bytes.get(scope["path"], self.default_max_bytes)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return 413, (f"refused: the form is {int(declared):,} bytes and the limit here is "
                         f"{limit:,}; nothing was stored (shorten the message or split the file)")
        return None
