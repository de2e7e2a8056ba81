"""The interactive API documentation (Swagger UI) served entirely by the app.

FastAPI's default page loads Swagger UI from a public CDN: blank when offline, and a third-party script origin a
content-security policy would have to allow. The pinned swagger-ui-bundle-v2 package carries Swagger UI's files;
they are mounted here and the page points at them.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_URL = "/api/docs"
ASSETS_URL = f"{DOCS_URL}/assets"


def install(app: FastAPI) -> None:
    """Serve Swagger UI at DOCS_URL for the app's OpenAPI document (create the app with docs_url=None)."""
    assert app.openapi_url is not None, "the API documentation needs the OpenAPI document"
    page = bytes(
        get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title}: API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=None,
            # Swagger UI otherwise sends the document's address to a public validator service.
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    )
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    headers = {"content-security-policy": content_security_policy(page)}

    @app.get(DOCS_URL, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)


def content_security_policy(page: bytes) -> str:
    """The app's own origin, plus the page's one inline script by its hash; Swagger UI sets inline styles and
    shows data: images, which this page alone allows."""
    scripts = re.findall(rb"<script>(.*?)</script>", page, flags=re.DOTALL)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in scripts)
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
