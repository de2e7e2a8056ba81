"""The foundation as a user meets it: logging in and out, the dashboard, account administration with htmx
live search and form errors, keyboard access, permissions, and axe on every page state."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_a11y, goto, login

ADMIN = "admin@example.org"
ACADEMIC = "academic@example.org"


def test_accessibility_check_can_fail(page: Page) -> None:
    page.set_content('<!doctype html><html lang="en"><title>Broken</title><main><img src="x.png"></main></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        check_a11y(page)


def test_admin_logs_in_sees_dashboard_and_logs_out(page: Page) -> None:
    login(page, ADMIN)

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Ada Admin")
    organisation = page.get_by_role("region", name="Organisation")
    expect(organisation).to_be_visible()
    figures = organisation.get_by_role("listitem").filter(has=page.locator("strong"))
    expect(figures).to_have_text(
        [re.compile(rf"^\s*\d+\s+{label}\s*$") for label in ("accounts", "committees", "programmes")]
    )
    check_a11y(page)

    with page.expect_navigation():
        page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.get_by_role("status")).to_have_text("You have been logged out.")
    check_a11y(page)

    goto(page, "/")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_wrong_password_shows_an_error(page: Page) -> None:
    login(page, "qa@example.org", "not-the-password")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_contain_text("The e-mail address or password is not correct.")
    expect(page.get_by_label("E-mail address")).to_have_value("qa@example.org")
    expect(page.get_by_label(re.compile(r"^Password"))).to_have_value("")
    check_a11y(page)


def test_admin_searches_accounts_and_creates_one(page: Page) -> None:
    login(page, ADMIN)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    check_a11y(page)

    # Live search: typing filters the table through htmx, without loading a new page.
    table = page.get_by_role("table")
    expect(table.get_by_role("row")).not_to_have_count(2)  # header + more than one account
    page.evaluate("() => { window.__samePage = true; }")
    with page.expect_response(lambda r: "/admin/users?q=Quinn" in r.url):
        page.get_by_role("searchbox", name="Search by name or e-mail").fill("Quinn")
    expect(table.locator("caption")).to_have_text("1 account")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_role("link", name="Quinn Auditor")).to_be_visible()
    assert page.evaluate("() => window.__samePage === true"), "the search reloaded the page"
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    check_a11y(page)

    with page.expect_response(lambda r: "q=nobody-at-all" in r.url):
        page.get_by_role("searchbox", name="Search by name or e-mail").fill("nobody-at-all")
    expect(table.get_by_role("cell")).to_have_text("No account matches.")
    check_a11y(page)

    # New account: invalid input is explained, and what was typed is kept.
    with page.expect_navigation():
        page.get_by_role("link", name="New account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New account")
    check_a11y(page)

    email = page.get_by_label("E-mail address")
    name = page.get_by_label("Full name")
    password = page.get_by_label(re.compile(r"^Password"))
    email.fill("not-an-email")
    name.fill("Nadia Newcomer")
    password.fill("short")
    page.get_by_role("checkbox", name="Academic").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please correct 2 problems")
    expect(summary.get_by_role("link", name="Email")).to_be_visible()
    expect(summary.get_by_role("link", name="Password")).to_be_visible()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile(r"\S"))
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile(r"At least 8 characters\..+\S", re.S))
    expect(name).to_have_value("Nadia Newcomer")
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("not-an-email")
    expect(page.get_by_role("checkbox", name="Academic")).to_be_checked()
    check_a11y(page)

    # Following the summary link moves to the field.
    summary.get_by_role("link", name="Email").click()
    expect(email).to_be_focused()

    address = f"nadia-{uuid.uuid4().hex[:8]}@example.org"
    email.fill(address)
    password.fill("a-long-enough-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_have_text(f"Account for {address} created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Nadia Newcomer")
    check_a11y(page)

    goto(page, "/admin/users?q=nadia")
    expect(page.get_by_role("table").get_by_role("link", name="Nadia Newcomer")).to_be_visible()


def test_tab_first_reaches_the_skip_link_with_a_visible_outline(page: Page) -> None:
    goto(page, "/login")
    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", f"the focused skip link has no outline (outline-style: {outline})"

    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


def test_academic_is_refused_account_administration(page: Page) -> None:
    login(page, ACADEMIC)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alex Academic")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts")).to_have_count(0)

    response = goto(page, "/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_text("Error 403")).to_be_visible()


def test_user_creates_an_api_token_on_the_account_page(page: Page) -> None:
    login(page, ACADEMIC)
    with page.expect_navigation():
        page.get_by_role("banner").get_by_role("link", name="Alex Academic").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    check_a11y(page)

    page.evaluate("() => { window.__samePage = true; }")
    page.get_by_label("New token name").fill("timetable-sync")
    with page.expect_response(lambda r: r.url.endswith("/account/tokens")):
        page.get_by_role("button", name="Create token").click()
    expect(page.locator("#tokens").get_by_role("status")).to_contain_text("New token timetable-sync")
    expect(page.get_by_role("button", name="Revoke timetable-sync")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Token created.")
    assert page.evaluate("() => window.__samePage === true"), "creating a token reloaded the page"
    check_a11y(page)
