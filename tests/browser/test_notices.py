"""Notifications people actually receive: a submission raises a council member's unread count in the navigation,
and the scheduler's sweep delivers the mail, with a deep link, to a real SMTP server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import check_a11y, login
from tests.browser.test_approval import fill_elements, save_new_draft, start_proposal, submit, unique_title
from tests.conftest import TEST_SECRET
from tests.live import run_cli
from tests.mailserver import SmtpServer

MEMBER = "council2@example.org"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def unread(page: Page) -> int:
    text = page.get_by_role("navigation", name="Main").locator("#notification-count").inner_text()
    match = re.match(r"\s*(\d+)", text)
    assert match, text
    return int(match.group(1))


def test_a_submission_reaches_the_council_in_the_app_and_by_mail(
    browser: Browser, page: Page, base_url: str, live_database_url: str, smtp: SmtpServer
) -> None:
    member_context = browser.new_context(base_url=base_url)
    member = member_context.new_page()
    try:
        login(member, MEMBER)
        before = unread(member)

        title = unique_title("Grid Data Literacy")
        start_proposal(page, "Standalone")
        fill_elements(page, title)
        path = save_new_draft(page, title)
        submit(page)

        member.reload()
        expect(member.get_by_role("navigation", name="Main").locator("#notification-count")).to_contain_text(
            f"{before + 1} unread"
        )
        with member.expect_navigation():
            member.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("^Notifications")).click()
        item = member.get_by_role("link", name=f"Your decision is awaited: {title}")
        expect(item).to_have_attribute("href", path)
        check_a11y(member)
    finally:
        member_context.close()

    # The scheduler's sweep (here by hand, as `python -m app.cli sweep`) delivers the mail.
    run_cli(
        {
            **os.environ,
            "MCQA_DATABASE_URL": live_database_url,
            "MCQA_SECRET_KEY": TEST_SECRET,
            "MCQA_SMTP_HOST": "127.0.0.1",
            "MCQA_SMTP_PORT": str(smtp.port),
            "MCQA_SMTP_STARTTLS": "false",
        },
        "sweep",
    )
    mails = [m for m in smtp.inbox.messages if m["Subject"] == f"Your decision is awaited: {title}"]
    assert sorted(str(m["To"]) for m in mails) == [  # the whole council: the proposer is not on it
        "Cameron Council <council3@example.org>",
        "Carla Chair <council1@example.org>",
        "Chris Council <council2@example.org>",
    ]
    body = mails[0].get_body(preferencelist=("plain",))
    assert body is not None
    assert re.search(rf"Open it in MC-QA: http://[^/\s]+{path}\s", body.get_content())  # a deep link, absolute
