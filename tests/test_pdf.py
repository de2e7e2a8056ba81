"""The shared printable-document utility (app/pdf.py): the same template as print-friendly HTML and as PDF."""

from __future__ import annotations

import io
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from jinja2_fragments.fastapi import Jinja2Blocks
from pypdf import PdfReader

from app.pdf import DEFAULT_BASE_URL, StaticOnlyFetcher, content_disposition, pdf_response, print_response, render_pdf
from app.settings import ROOT

DOCUMENT = """{% extends "_print/base.html" %}
{% block title %}Checklist report: {{ title }}{% endblock %}
{% block content %}<p>Standard 1.2 is met by {{ who }}.</p>{% endblock %}
"""


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_render_pdf_is_a_pdf_with_the_text_in_it() -> None:
    pdf = render_pdf("<h1>Quality report</h1><p>Élodie Müller answered ESG 1.10.</p>")

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Quality report" in text
    assert "Élodie Müller answered ESG 1.10." in text


def test_rendering_never_fetches_other_hosts_or_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("h1 { color: red; }")
    html = (
        f'<link rel="stylesheet" href="file://{secret}"><img src="http://192.0.2.1/x.png" alt="x"><p>Still rendered</p>'
    )

    assert "Still rendered" in pdf_text(render_pdf(html))

    fetcher = StaticOnlyFetcher(DEFAULT_BASE_URL)
    with pytest.raises(ValueError, match="only loads the application's static files"):
        fetcher.fetch("http://192.0.2.1/static/css/print.css")
    with pytest.raises(ValueError, match="only loads"):
        fetcher.fetch(f"file://{secret}")
    with pytest.raises(ValueError, match="no static file"):
        fetcher.fetch(f"{DEFAULT_BASE_URL}static/../pyproject.toml")
    served = fetcher.fetch(f"{DEFAULT_BASE_URL}static/css/print.css")
    assert served.read() == (ROOT / "static" / "css" / "print.css").read_bytes()
    assert served.headers.get_content_type() == "text/css"


def test_the_same_template_as_html_and_as_pdf(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text(DOCUMENT)
    templates = Jinja2Blocks(directory=[str(tmp_path), str(ROOT / "templates")])
    templates.env.globals["app_name"] = "MC-QA"
    app = FastAPI()
    context = {"title": "Data Literacy", "who": "the QA office", "pdf_url": "/report.pdf"}

    @app.get("/report.pdf")
    def as_pdf(request: Request) -> Response:
        return pdf_response(request, "report.html", context, "Checklist \u2013 Data Literacy", templates=templates)

    @app.get("/report")
    def as_html(request: Request) -> Response:
        return print_response(request, "report.html", context, templates=templates)

    with TestClient(app) as client:
        pdf = client.get("/report.pdf")
        html = client.get("/report")

    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        "attachment; filename=\"Checklist-Data-Literacy.pdf\"; filename*=UTF-8''Checklist%20%E2%80%93%20Data%20Literacy.pdf"
    )
    assert pdf.content.startswith(b"%PDF-")
    text = pdf_text(pdf.content)
    assert "Checklist report: Data Literacy" in text
    assert "Standard 1.2 is met by the QA office." in text
    assert "Page 1 of 1" in text  # the print stylesheet was loaded: its page footer is there
    assert "Download as PDF" not in text  # the screen-only link is not printed

    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/static/css/print.css">' in html.text
    assert "Standard 1.2 is met by the QA office." in html.text
    assert '<a href="/report.pdf">Download as PDF</a>' in html.text


def test_a_pdf_is_laid_out_in_a_renderer_process_as_it_is_sent(tmp_path: Path) -> None:
    """The handler only makes the HTML (its thread is free again at once); the PDF is laid out in another process,
    awaited on the event loop, so that neither a request thread nor the interpreter's lock waits for it."""
    import os

    from app import pdf as pdf_module

    (tmp_path / "report.html").write_text(DOCUMENT)
    templates = Jinja2Blocks(directory=[str(tmp_path), str(ROOT / "templates")])
    templates.env.globals["app_name"] = "MC-QA"
    app = FastAPI()
    returned: list[Response] = []

    @app.get("/report.pdf")
    def as_pdf(request: Request) -> Response:
        response = pdf_response(
            request, "report.html", {"title": "Data Literacy", "who": "x"}, "r", templates=templates
        )
        returned.append(response)
        return response

    with TestClient(app) as client:
        served = client.get("/report.pdf")

    assert isinstance(returned[0], pdf_module.PdfResponse)
    assert served.status_code == 200 and served.content.startswith(b"%PDF-")
    assert int(served.headers["content-length"]) == len(served.content)
    assert "Checklist report: Data Literacy" in pdf_text(served.content)
    pool = pdf_module._renderers()
    assert isinstance(pool, ProcessPoolExecutor)
    renderers = set((pool._processes or {}).keys())
    assert renderers and os.getpid() not in renderers


def test_a_renderer_that_died_fails_one_download_and_the_next_gets_new_renderers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from app import pdf as pdf_module

    class Broken(ProcessPoolExecutor):
        """A pool whose renderer died: what ProcessPoolExecutor answers then, for good."""

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            raise BrokenProcessPool("a renderer process terminated abruptly")

    broken = Broken(1)
    monkeypatch.setattr(pdf_module, "_RENDERERS", [broken])
    (tmp_path / "report.html").write_text(DOCUMENT)
    templates = Jinja2Blocks(directory=[str(tmp_path), str(ROOT / "templates")])
    templates.env.globals["app_name"] = "MC-QA"
    app = FastAPI()

    @app.get("/report.pdf")
    def as_pdf(request: Request) -> Response:
        return pdf_response(request, "report.html", {"title": "Data Literacy", "who": "x"}, "r", templates=templates)

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/report.pdf").status_code == 500
        assert broken not in pdf_module._RENDERERS
        again = client.get("/report.pdf")
    assert again.status_code == 200 and again.content.startswith(b"%PDF-")
    pdf_module._renderers().shutdown()
    pdf_module._RENDERERS.clear()


def test_download_names_are_safe() -> None:
    assert (
        content_disposition('a"b/../c') == "attachment; filename=\"a-b-..-c.pdf\"; filename*=UTF-8''a%22b%2F..%2Fc.pdf"
    )
    assert content_disposition("报告").startswith('attachment; filename="document.pdf"')
