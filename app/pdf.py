"""Printable documents (checklist reports, meeting packs, feedback reports) as print-friendly HTML and as PDF.

One Jinja template serves both: it extends ``_print/base.html`` (which links ``static/css/print.css``), a page
offers it as HTML with :func:`print_response` and as a PDF download with :func:`pdf_response`.

WeasyPrint turns the HTML into PDF. It only ever reads the application's own ``static/`` files (stylesheets,
images) and ``data:`` URIs: a document may quote text or links people typed, and rendering it must never make
the server fetch an address (no requests to other hosts, no reading files outside ``static/``).
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request
from fastapi.responses import Response
from jinja2_fragments.fastapi import Jinja2Blocks
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


def pdf_response(
    request: Request,
    name: str,
    context: dict[str, Any],
    filename: str,
    *,
    templates: Jinja2Blocks | None = None,
) -> Response:
    """The same document template as a PDF download named ``filename``."""
    ctx = {"request": request, **document_context(request, context)}
    html = (templates or web.templates).get_template(name).render(ctx)
    pdf = render_pdf(html, base_url=str(request.base_url))
    return Response(
        pdf,
        media_type=PDF_MEDIA_TYPE,
        headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "no-store"},
    )


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact (UTF-8) name for browsers that read it."""
    stem = filename.removesuffix(".pdf").removesuffix(".PDF")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_stem).strip("-.") or "document"
    return f"attachment; filename=\"{ascii_stem}.pdf\"; filename*=UTF-8''{quote(stem + '.pdf', safe='')}"
