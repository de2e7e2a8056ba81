"""Security headers: a Content-Security-Policy of the app's own origin, nosniff, same-origin referrers, and HSTS
behind HTTPS; no template needs an inline script or style."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ROOT, Settings
from tests.conftest import login


def _directives(header: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in header.split(";") if d.strip()}


def test_html_pages_send_the_security_headers(client: TestClient) -> None:
    for path in ("/login", "/catalogue", "/no/such/page"):
        response = client.get(path)
        assert "text/html" in response.headers["content-type"]
        policy = _directives(response.headers["content-security-policy"])
        for directive in ("script-src", "style-src", "img-src", "form-action"):
            assert policy[directive] == "'self'", (path, directive)
        assert policy["frame-ancestors"] == "'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # plain HTTP: no HSTS
    login(client, "admin@example.org")
    assert "frame-ancestors 'none'" in client.get("/admin/users").headers["content-security-policy"]


def test_hsts_when_cookies_are_secure(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"cookie_secure": True}))
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/login").headers["strict-transport-security"].startswith("max-age=")
    app.state.engine.dispose()


def test_htmx_is_configured_for_the_policy(client: TestClient) -> None:
    page = client.get("/login").text
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'", page)
    assert config is not None
    settings = json.loads(config.group(1))
    assert settings["allowEval"] is False and settings["allowScriptTags"] is False
    assert settings["includeIndicatorStyles"] is False
    # Settling a swap copies these attributes from the old element to the new one: a style attribute set by anything
    # (an extension, a tool) would then be applied inline, which the policy refuses (a console error per element).
    assert "style" not in settings["attributesToSettle"]


def test_no_template_has_inline_scripts_or_styles() -> None:
    offending = []
    for template in (ROOT / "templates").rglob("*.html"):
        if template.name.startswith("email_"):  # e-mails are read in mail clients, not served under the policy
            continue
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"<style\b|\sstyle=|\son[a-z]+=", text):
            offending.append(str(template.relative_to(ROOT)))
    assert offending == []


def test_api_docs_allow_exactly_their_inline_script(client: TestClient) -> None:
    response = client.get("/api/docs")
    policy = _directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == "'none'"
    scripts = re.findall(r"<script>(.*?)</script>", response.text, flags=re.DOTALL)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert "unsafe-eval" not in policy["script-src"]


def test_every_page_names_the_icon_and_the_usual_address_leads_to_it(client: TestClient) -> None:
    """Browsers ask for /favicon.ico when a page names no icon: without one, every first visit logged a 404."""
    page = client.get("/login")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    usual = client.get("/favicon.ico", follow_redirects=False)
    assert (usual.status_code, usual.headers["location"]) == (301, "/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
