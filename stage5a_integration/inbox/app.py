"""The inbox's web pages (FastAPI + Jinja2): the message list with a form and a CSV upload, and
the analytics view. New messages are stored first and labelled right after by the service; if
the service is down they wait, shown as "pending", until "Label pending" succeeds.

Only the inbox's own pages may post to it, under its own host names (:mod:`.security`); every
refusal, and every error, is a page that says what happened, not a JSON body.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from common.bundle.textprep import BLANK_MESSAGE, has_content
from stage5a_integration.inbox.client import ServiceClient, ServiceError
from stage5a_integration.inbox.security import DEFAULT_ALLOWED_HOSTS, SameOriginPosts
from stage5a_integration.inbox.store import (
    MAX_MESSAGE_CHARS,
    InboxStore,
    Labelled,
    NewMessage,
    read_csv,
)

TEMPLATES = Path(__file__).with_name("templates")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_FORM_BYTES = 1024 * 1024  # a form with one message: the message limit and room to spare
UPLOAD_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and headers around the file


def label_pending(store: InboxStore, client: ServiceClient) -> str:
    """Ask the service for every message without a label; returns a line for the page."""
    pending = store.unlabelled()
    if not pending:
        return "no message waits for a label"
    try:
        labels = client.classify([message.text for message in pending])
    except ServiceError as error:
        return f"{len(pending)} messages wait for labels: {error}"
    store.set_labels(Labelled(m.id, x.label, x.probability, x.model_version)
                     for m, x in zip(pending, labels, strict=True))
    return f"labelled {len(pending)} messages"


def model_labels(client: ServiceClient) -> tuple[list[str], str | None]:
    """The served bundle's labels and its positive label (empty when the service is down)."""
    try:
        model = client.model
    except ServiceError:
        return [], None
    return list(model["labels"]), model.get("positive_label")


def create_inbox_app(store: InboxStore, client: ServiceClient,
                     allowed_hosts: Sequence[str] = DEFAULT_ALLOWED_HOSTS,
                     text_column: str | None = None) -> FastAPI:
    """The inbox's pages, answered only under ``allowed_hosts`` (host names, no ports).

    ``text_column`` names the text column of imported files (default: detected)."""
    app = FastAPI(title="Support inbox", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=TEMPLATES)

    def refusal_page(status: int, notice: str) -> str:
        return templates.get_template("refused.html").render(status=status, notice=notice)

    def back_home(notice: str) -> RedirectResponse:
        return RedirectResponse("/?" + urlencode({"notice": notice}), status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def messages_page(request: Request, label: str | None = None,
                      notice: str | None = None) -> Any:
        return templates.TemplateResponse(request, "messages.html", {
            "messages": store.latest(label=label), "counts": store.label_counts(),
            "selected": label, "notice": notice, "max_message_chars": MAX_MESSAGE_CHARS,
        })

    @app.post("/messages", response_model=None)
    def add_message(text: Annotated[str, Form()] = "",
                    sender: Annotated[str, Form()] = "") -> RedirectResponse | HTMLResponse:
        if not has_content(text):
            return back_home(f"{BLANK_MESSAGE}: nothing was added")
        if len(text) > MAX_MESSAGE_CHARS:
            return HTMLResponse(refusal_page(413, (
                f"the message is {len(text):,} characters and the limit is "
                f"{MAX_MESSAGE_CHARS:,}: nothing was added")), status_code=413)
        store.add([NewMessage(text.strip(), sender.strip())])
        return back_home("added 1 message; " + label_pending(store, client))

    @app.post("/import")
    def import_csv(file: Annotated[UploadFile, File()]) -> RedirectResponse:
        data = file.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            return back_home(f"the file is over {MAX_UPLOAD_BYTES // 2**20} MiB: not imported")
        try:
            parsed = read_csv(data, name=file.filename or "upload.csv",
                              text_column=text_column)
        except ValueError as error:
            return back_home(f"not imported: {error}")
        store.add(parsed.messages)
        return back_home(f"{file.filename}: {parsed.summary()}; " + label_pending(store, client))

    @app.post("/label-pending")
    def relabel() -> RedirectResponse:
        return back_home(label_pending(store, client))

    @app.get("/analytics", response_class=HTMLResponse)
    def analytics(request: Request) -> Any:
        labels, positive = model_labels(client)
        counts = store.label_counts()
        shown = [positive] if positive else labels  # the bundle's labels, whatever they are
        return templates.TemplateResponse(request, "analytics.html", {
            "counts": counts, "total": sum(counts.values()), "labels": shown,
            "days": {label: store.share_by_day(label) for label in shown},
        })

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, error: StarletteHTTPException) -> HTMLResponse:
        """404, 405 and the form parser's refusals (a field over 1 MiB, ...) as a page."""
        return HTMLResponse(refusal_page(error.status_code, str(error.detail)),
                            status_code=error.status_code, headers=error.headers)

    # Added last runs first: the Host check, then the origin and size of a POST, then the app.
    app.add_middleware(SameOriginPosts, render=refusal_page,
                       max_bytes={"/import": MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD_BYTES},
                       default_max_bytes=MAX_FORM_BYTES)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts),
                       www_redirect=False)
    return app
