"""Printable documents (checklist reports, meeting packs, feedback reports) as print-friendly HTML and as PDF.

One Jinja template serves both: it extends ``_print/base.html`` (which links ``static/css/print.css``), a page
offers it as HTML with :func:`print_response` and as a PDF download with :func:`pdf_response`.

WeasyPrint turns the HTML into PDF, in a process of its own (``_renderers``), awaited on the event loop when the
response is sent (``PdfResponse``): laying out pages is pure Python that holds the interpreter's lock for the whole
document (about 0.7 s for a meeting pack), so rendered in a request's thread a few downloads at once slowed every
other page of that worker to the same 0.7 s, and held request threads besides (app.routing).

WeasyPrint only ever reads the application's own ``static/`` files (stylesheets, images) and ``data:`` URIs: a
document may quote text or links people typed, and rendering it must never make the server fetch an address (no
requests to other hosts, no reading files outside ``static/``).
"""

from __future__ import annotations

import asyncio
import atexit
import mimetypes
import multiprocessing
import re
import threading
import unicodedata
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request
from fastapi.responses import Response
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.types import Receive, Scope, Send
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from app import web
from app.settings import ROOT

STATIC_DIR = (ROOT / "static").resolve()
# Documents link their stylesheet as "/static/...": without a request, relative links resolve against this address,
# which the fetcher below maps to the static directory and never contacts.
DEFAULT_BASE_URL = "http://mcqa.invalid/"
PDF_MEDIA_TYPE = "application/pdf"


class StaticOnlyFetcher(URLFetcher):
    """Serves ``<base origin>/static/...`` from the static directory and ``data:`` URIs; refuses everything else.

    WeasyPrint logs a refused resource and leaves it out of the document, so a bad image link never fails a
    report.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__(allowed_protocols=("data", "http", "https"))
        parts = urlsplit(base_url)
        self._origin = (parts.scheme, parts.netloc)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin or not parts.path.startswith("/static/"):
            raise ValueError(f"a document only loads the application's static files, not {url}")
        path = (STATIC_DIR / unquote(parts.path.removeprefix("/static/"))).resolve()
        if not path.is_relative_to(STATIC_DIR) or not path.is_file():
            raise ValueError(f"no static file at {url}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """The PDF of an HTML document. ``base_url`` resolves its relative links (only static files are loaded)."""
    base = base_url or DEFAULT_BASE_URL
    document = HTML(string=html, base_url=base, url_fetcher=StaticOnlyFetcher(base), media_type="print")
    pdf: bytes = document.write_pdf()
    return pdf


def document_context(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    """What every printable document shows beside its own context: when it was made and who asked for it."""
    generated = datetime.now(UTC)
    return {
        **web.page_context(request),
        "generated_at": generated,
        "generated_on": generated.strftime("%d %B %Y, %H:%M UTC"),
        **context,
    }


def print_response(
    request: Request, name: str, context: dict[str, Any], *, templates: Jinja2Blocks | None = None
) -> Response:
    """The print-friendly HTML of a document template (the browser's print dialog gives the same layout)."""
    return (templates or web.templates).TemplateResponse(request, name, document_context(request, context))


# Processes that lay out PDFs, per worker process, started with the first download (each imports WeasyPrint once).
RENDERER_PROCESSES = 2
_RENDERERS: list[Executor] = []
_RENDERERS_LOCK = threading.Lock()


def _renderers() -> Executor:
    with _RENDERERS_LOCK:
        if not _RENDERERS:
            # "spawn": a fork of a process running threads (the event loop's, the request threads) may copy a held
            # lock into the child.
            pool = ProcessPoolExecutor(RENDERER_PROCESSES, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(pool.shutdown, wait=False, cancel_futures=True)
            _RENDERERS.append(pool)
        return _RENDERERS[0]


def _forget(pool: Executor) -> None:
    with _RENDERERS_LOCK:
        if pool in _RENDERERS:
            _RENDERERS.remove(pool)
    pool.shutdown(wait=False, cancel_futures=True)


class PdfResponse(Response):
    """A PDF download whose document is laid out while it is sent: in a renderer process, awaited on the event loop,
    so that neither a request thread nor the interpreter's lock is held meanwhile. A failed rendering fails the
    response (500), as it did in the handler."""

    media_type = PDF_MEDIA_TYPE

    def __init__(self, html: str, base_url: str, filename: str) -> None:
        super().__init__(
            b"", headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "no-store"}
        )
        self.html, self.base_url = html, base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        pool = _renderers()
        try:
            self.body = await loop.run_in_executor(pool, partial(render_pdf, self.html, base_url=self.base_url))
        except BrokenProcessPool:
            _forget(pool)  # a renderer died (out of memory, killed): this download fails, the next starts new ones
            raise
        self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)


def pdf_response(
    request: Request,
    name: str,
    context: dict[str, Any],
    filename: str,
    *,
    templates: Jinja2Blocks | None = None,
) -> Response:
    """The same document template as a PDF download named ``filename``: the HTML made here, in the request's
    transaction, the PDF laid out as it is sent (``PdfResponse``)."""
    ctx = {"request": request, **document_context(request, context)}
    html = (templates or web.templates).get_template(name).render(ctx)
    return PdfResponse(html, str(request.base_url), filename)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact (UTF-8) name for browsers that read it."""
    stem = filename.removesuffix(".pdf").removesuffix(".PDF")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_stem).strip("-.") or "document"
    return f"attachment; filename=\"{ascii_stem}.pdf\"; filename*=UTF-8''{quote(stem + '.pdf', safe='')}"
