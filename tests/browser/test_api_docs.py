"""The API documentation renders in the browser with the network beyond the app cut off."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect


def test_api_docs_render_offline(page: Page, base_url: str) -> None:
    app_host = urlsplit(base_url).netloc
    elsewhere: list[str] = []

    def only_the_app(route: Route) -> None:
        if urlsplit(route.request.url).netloc == app_host:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_app)
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("MC-QA")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert elsewhere == []
