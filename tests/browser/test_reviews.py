"""A periodic review end to end in the browser, on the demo showcase: the QA officer sees a review due on the
dashboard; the owner completes the self-evaluation with the figures already filled in; the QA office takes it into
assessment, answers the mandatory items of its ESG checklist in place (the review page lists them, the progress
counts go up) and records "continue with actions"; the action appears on the owner's dashboard. axe checks every
page on the way, and the checklist page after its swaps."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_a11y, goto, login
from tests.browser.test_showcase import log_out

TITLE = "Cybersecurity Essentials for Small Businesses"


def test_a_review_from_the_dashboard_to_an_action_on_the_owners_dashboard(page: Page) -> None:
    login(page, "qa@example.org")
    goto(page, "/reviews")
    due_soon = page.get_by_role("table", name=re.compile(r"^Reviews due soon"))
    row = due_soon.get_by_role("row").filter(has_text=TITLE).filter(has_text="Monitoring report")
    expect(row).to_have_count(1)
    review_path = row.get_by_role("link", name="Monitoring report").get_attribute("href")
    assert review_path and re.fullmatch(r"/reviews/\d+", review_path)
    log_out(page)

    login(page, "academic@example.org")
    page.get_by_role("link", name=re.compile(rf"^Monitoring report of {re.escape(TITLE)}")).click()
    expect(page).to_have_url(re.compile(re.escape(review_path) + "$"))
    check_a11y(page)
    figures = page.get_by_role("table", name=re.compile(r"offerings?; trend"))
    expect(figures).to_contain_text("82%")  # 31 of 38 completed in the first run, pre-filled
    expect(figures).to_contain_text("↓ down")
    page.get_by_label("Narrative").fill("Both intakes filled. Completion fell in the larger group; see the plan.")
    page.get_by_label("Action plan").fill("Move the live lab to Saturday mornings.")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit to the QA office").click()
    expect(page.locator("#review-status")).to_have_text("Submitted")
    check_a11y(page)
    log_out(page)

    login(page, "qa@example.org")
    goto(page, review_path)
    with page.expect_navigation():
        page.get_by_role("button", name="Take into QA assessment").click()
    complete_the_mandatory_checklist_items(page)
    page.get_by_role("combobox", name=re.compile(r"^Outcome")).select_option(label="Continue with actions")
    page.get_by_label("Reasons for the outcome").fill("Sound monitoring; the lab schedule must change.")
    due = (date.today() + timedelta(days=60)).isoformat()
    page.get_by_label("Action 1", exact=True).fill("Offer the live lab on Saturday mornings")
    page.get_by_label("Due date of action 1").fill(due)
    with page.expect_navigation():
        page.get_by_role("button", name="Record outcome").click()
    expect(page.locator("#review-outcome")).to_have_text("Continue with actions")
    check_a11y(page)
    log_out(page)

    login(page, "academic@example.org")
    expect(
        page.get_by_role("link", name=f"Action on {TITLE}: Offer the live lab on Saturday mornings, due {due}")
    ).to_be_visible()
    check_a11y(page)


def complete_the_mandatory_checklist_items(page: Page) -> None:
    """From the review page: follow the link to the ESG checklist, answer each mandatory item in place (htmx, no
    reload), and come back to a review page that lists nothing missing."""
    section = page.locator("#review-checklist")
    missing = section.locator("#checklist-missing li")
    left = missing.count()
    assert left >= 5, "the review page lists the unanswered mandatory items"
    expect(section.locator("#checklist-progress")).to_contain_text("0 of ")
    with page.expect_navigation():
        section.get_by_role("link", name="Answer the ESG checklist").click()
    check_a11y(page)
    page.evaluate("() => { window.__samePage = true; }")
    items = page.locator("article.checklist-item").filter(has=page.locator("strong", has_text="mandatory"))
    assert items.count() == left
    for number in range(left):
        item = items.nth(number)
        item.get_by_role("radio", name="Met", exact=True).check()
        item.get_by_label("Reason or remarks").fill("Checked against the published edition and the report.")
        item.get_by_role("button", name="Save this item").click()
        expect(items.nth(number).get_by_role("status")).to_have_text("Saved.")
        expect(page.locator("#progress-overall")).to_contain_text(f"{number + 1} of ")
    assert page.evaluate("() => window.__samePage === true"), "each item saved in place"
    check_a11y(page)
    with page.expect_navigation():
        page.locator("#back-to-subject").click()
    expect(page.locator("#checklist-missing")).to_have_count(0)
    expect(page.locator("#checklist-progress")).to_contain_text(f"{left} of ")
    check_a11y(page)
