"""Notifications as people meet them: the count in the navigation, the list with mark-read through htmx, the
e-mail choice on "My account", and the administrators' Outbox; axe on every state."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from app.db import make_engine
from app.notifications import service
from app.users.models import User
from tests.browser.conftest import check_a11y, goto, login

PERSON = "admin@example.org"  # on no proposal, so the demo has told them nothing


def _tell(database_url: str, email: str, subjects: list[str]) -> None:
    """Write notifications straight into the app's database, about nothing the demo did."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            user = session.exec(select(User).where(User.email == email)).one()
            for subject in subjects:
                service.notify(
                    session,
                    recipients=[user.id or 0],
                    kind="proposal.submitted",
                    subject=subject,
                    text=f"{subject}: the faculty council is asked to decide.",
                    link="/awaiting",
                    base_url="http://127.0.0.1",
                )
            session.commit()
    finally:
        engine.dispose()


def test_unread_count_list_and_marking_read(page: Page, live_database_url: str) -> None:
    _tell(live_database_url, PERSON, ["Data Literacy submitted", "Green Chemistry submitted"])
    login(page, PERSON)
    nav = page.get_by_role("navigation", name="Main")
    count = nav.locator("#notification-count")
    expect(count).to_have_text("2 unread")

    with page.expect_navigation():
        nav.get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    items = page.locator("li.notification")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Green Chemistry submitted")  # newest first
    expect(page.locator("li.notification.unread")).to_have_count(2)
    check_a11y(page)

    page.evaluate("() => { window.__samePage = true; }")
    page.get_by_role("button", name="Mark as read: Green Chemistry submitted").click()
    expect(page.locator("li.notification.unread")).to_have_count(1)
    expect(count).to_have_text("1 unread")
    assert page.evaluate("() => window.__samePage === true"), "marking read reloaded the page"
    check_a11y(page)

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator("li.notification.unread")).to_have_count(0)
    expect(count).to_have_text("0 unread")
    expect(page.get_by_role("link", name="Data Literacy submitted")).to_have_attribute("href", "/awaiting")
    check_a11y(page)


def test_choosing_a_daily_digest_on_my_account(page: Page) -> None:
    login(page, "lll1@example.org")
    goto(page, "/account")
    choice = page.get_by_role("group", name="How should MC-QA e-mail you about new notifications?")
    expect(choice.get_by_role("radio", name=re.compile(r"^One e-mail per notification"))).to_be_checked()
    choice.get_by_role("radio", name=re.compile(r"daily digest")).check()
    page.get_by_role("button", name="Save e-mail choice").click()
    expect(page.locator("#toasts")).to_contain_text("You will get one e-mail a day")
    check_a11y(page)
    goto(page, "/account")
    expect(choice.get_by_role("radio", name=re.compile(r"daily digest"))).to_be_checked()


def test_admin_reads_the_outbox(page: Page, live_database_url: str) -> None:
    _tell(live_database_url, "qa@example.org", ["Outbox example submitted"])
    login(page, "admin@example.org")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
    expect(page.get_by_role("status")).to_contain_text("No mail server is configured")
    check_a11y(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Outbox example submitted").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Outbox example submitted")
    expect(page.locator("pre.mail-text")).to_contain_text("http://127.0.0.1/awaiting")
    check_a11y(page)
