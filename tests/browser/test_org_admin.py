"""An administrator edits a committee as a new user would: creates it, adds a chair, corrects a refused edit,
ends a membership and deactivates the committee through the confirmation dialogs. axe checks every page state.

The committee is a final body, which no approval route uses, so the other browser tests' proposals are unaffected.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_a11y, goto, login


def test_an_admin_edits_ends_a_membership_and_deactivates_a_committee(page: Page) -> None:
    login(page, "admin@example.org")
    goto(page, "/admin/committees")
    page.get_by_label("Name").fill("Senate")
    page.get_by_label("Kind of body").select_option(label="Final body")
    with page.expect_navigation():
        page.get_by_role("button", name="Create committee").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Senate")
    check_a11y(page)

    page.get_by_label("Person").select_option(label="Alex Academic (academic@example.org)")
    page.get_by_label("Chair (takes the chair from the current one)").check()
    page.get_by_role("button", name="Save member").click()
    # The block htmx swaps in (the person list names everyone: wait for the table's count instead).
    expect(page.locator("#members caption").first).to_have_text("1 current member of Senate")

    # A refused edit keeps what was typed and says what to do.
    page.locator("#f-name").fill("")
    page.locator("#f-chair_user_id").select_option(label="Alex Academic")
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#f-chair_user_id")).to_have_value(re.compile(r"\d+"))
    check_a11y(page)
    page.locator("#f-name").fill("University Senate")
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("University Senate")
    expect(page.locator("#timeline")).to_contain_text("name: Senate → University Senate")
    check_a11y(page)

    # Ending the membership asks first; the person stays listed among the past members.
    page.get_by_role("button", name="End membership of Alex Academic").click()
    dialog = page.get_by_role("dialog", name="End the membership of Alex Academic in University Senate?")
    expect(dialog).to_be_visible()
    check_a11y(page)
    dialog.get_by_role("button", name=re.compile("^Yes, end the membership")).click()
    expect(page.locator("#members")).to_contain_text("1 past member")
    check_a11y(page)

    page.get_by_role("button", name="Deactivate University Senate").click()
    dialog = page.get_by_role("dialog", name="Deactivate University Senate?")
    expect(dialog).to_be_visible()
    check_a11y(page)
    with page.expect_navigation():
        dialog.get_by_role("button", name="Yes, deactivate").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("deactivated")
    expect(page.get_by_role("button", name="Reactivate University Senate")).to_be_visible()
    check_a11y(page)
