"""htmx and Swagger UI work under the Content-Security-Policy: nothing the pages need is refused."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import login


def _refusals(page: Page) -> list[str]:
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    return refused


def test_htmx_swaps_and_toasts_under_the_policy(page: Page) -> None:
    refused = _refusals(page)
    login(page, "academic@example.org")
    page.goto("/account")
    page.evaluate("() => { window.__samePage = true; }")
    page.get_by_label("New token name").fill("csp-check")
    with page.expect_response(lambda r: r.url.endswith("/account/tokens")):
        page.get_by_role("button", name="Create token").click()
    expect(page.locator("#tokens").get_by_role("status")).to_contain_text("New token csp-check")
    expect(page.locator("#toasts")).to_contain_text("Token created.")  # app.js ran, htmx raised the event
    assert page.evaluate("() => window.__samePage === true"), "htmx did not swap: the page reloaded"
    page.goto("/catalogue")
    assert refused == []


def test_api_docs_render_under_their_policy(page: Page) -> None:
    refused = _refusals(page)
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("MC-QA")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert refused == []
