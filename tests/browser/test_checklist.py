"""The QA officer completes the QA office's ESG checklist of a proposal item by item, on a server with the shipped
policies (the checklist gates decisions): each item saves in place (no page reload) and the progress counts go up,
axe reports nothing after the swaps, and the QA office's approval is refused until its mandatory items are
answered."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from tests.browser.conftest import check_a11y
from tests.live import serve

QA = "qa@example.org"


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as shipped: its own server over its own demo database (the shared one turns the gate off)."""
    with serve(tmp_path_factory.mktemp("checklist"), "checklist") as server:
        yield server.url


def open_page(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, url
    check_a11y(page)


def log_in(page: Page, base: str, email: str) -> None:
    open_page(page, f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def proposal_with_the_qa_office(page: Page, base: str) -> int:
    answer = page.request.get(f"{base}/api/v1/pipeline?status=qa_office_review", headers={"accept": "application/json"})
    assert answer.ok, answer.text()
    items = answer.json()["items"]
    assert items, "the demo has a proposal with the QA office"
    return int(items[0]["id"])


def approve(page: Page) -> None:
    panel = page.get_by_role("region", name="What you can do")
    panel.get_by_role("radio", name="Approve", exact=True).check()
    panel.get_by_role("button", name="Record my vote").click()


def test_qa_officer_completes_the_checklist_and_only_then_approves(page: Page, gated: str) -> None:
    log_in(page, gated, QA)
    pid = proposal_with_the_qa_office(page, gated)

    # Before anyone votes, the decision panel says what is missing; an approval is refused, naming the items.
    open_page(page, f"{gated}/proposals/{pid}")
    panel = page.get_by_role("region", name="What you can do")
    expect(panel).to_contain_text("The QA office cannot approve until its ESG checklist is complete")
    with page.expect_response(lambda r: r.url.endswith(f"/proposals/{pid}/votes")) as refused:
        approve(page)
    assert refused.value.status == 422
    expect(panel.get_by_role("alert")).to_contain_text("The QA office cannot approve yet")
    expect(panel.get_by_role("alert")).to_contain_text("mandatory items are unanswered")
    check_a11y(page)

    # The checklist, linked from the panel: answer every QA office item in turn, each saved in place.
    with page.expect_navigation():
        panel.get_by_role("link", name="ESG Part 1 checklist").click()
    check_a11y(page)
    page.evaluate("() => { window.__samePage = true; }")
    overall = page.locator("#progress-overall")
    forms = page.locator("form.checklist-form")
    count = forms.count()
    assert count >= 7
    for number in range(count):
        item = page.locator("article.checklist-item").filter(has=page.locator("form.checklist-form")).nth(number)
        key = (item.get_attribute("id") or "").removeprefix("item-")
        before = int((overall.text_content() or "0").split()[0])
        was_answered = item.locator(f"#status-{key}").text_content() != "Unanswered"
        item.get_by_role("radio", name="Met", exact=True).check()
        item.get_by_role("textbox", name="Reason or remarks").fill("Checked by the QA office against the proposal.")
        item.get_by_role("textbox", name="Evidence", exact=True).fill(f"Evidence for {key}.")
        with page.expect_response(f"**/proposals/{pid}/checklist/{key}") as saved:
            item.get_by_role("button", name="Save this item").click()
        assert saved.value.status == 200
        item = page.locator(f"#item-{key}")
        expect(item.get_by_role("status")).to_have_text("Saved.")
        expect(item.locator(f"#status-{key}")).to_have_text("Met")
        expect(overall).to_have_text(re.compile(rf"^{before + (0 if was_answered else 1)} of "))
        if number in (0, count - 1):
            check_a11y(page)
    assert page.evaluate("() => window.__samePage === true"), "the page was reloaded"
    expect(page.locator("#progress-1-9")).to_have_text(re.compile(r"^(\d+) of \1$"))

    # Now the QA office may approve.
    open_page(page, f"{gated}/proposals/{pid}")
    panel = page.get_by_role("region", name="What you can do")
    expect(panel).not_to_contain_text("cannot approve until")
    with page.expect_navigation():
        approve(page)
    expect(page.get_by_role("status").filter(has_text="Your vote has been recorded.")).to_be_visible()
    expect(page.locator("#status")).to_have_text(re.compile("Published|Approved"))
    check_a11y(page)
