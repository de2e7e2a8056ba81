"""A periodic review end to end in the browser, on the demo showcase: the QA officer sees a review due on the
dashboard; the owner completes the self-evaluation with the figures already filled in; the QA office records
"continue with actions"; the action appears on the owner's dashboard. axe checks every page on the way."""

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
