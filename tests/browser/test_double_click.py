"""A double click on an action sends it once: the form drops a second request while the first is on its way."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.db import make_engine
from tests.browser.conftest import check_a11y, login
from tests.browser.test_approval import fill_elements, save_new_draft, start_proposal, submit, unique_title


def test_a_double_clicked_vote_is_recorded_once(
    browser: Browser, page: Page, base_url: str, live_database_url: str
) -> None:
    title = unique_title("Double Click Safety")
    start_proposal(page, "Standalone")
    fill_elements(page, title)
    path = save_new_draft(page, title)
    submit(page)

    member = browser.new_context(base_url=base_url).new_page()
    login(member, "council2@example.org")
    member.goto(path)
    panel = member.get_by_role("region", name="What you can do")
    panel.get_by_role("radio", name="Approve", exact=True).check()
    with member.expect_response(lambda r: r.url.endswith("/votes")):
        panel.get_by_role("button", name="Record my vote").dblclick()
    member.wait_for_load_state("networkidle")
    expect(member.locator("table").filter(has_text="Chris Council")).to_have_count(1)
    check_a11y(member)

    engine = make_engine(live_database_url)
    try:
        with Session(engine) as session:
            actions = session.exec(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "proposal",
                    AuditEvent.entity_id == int(path.rsplit("/", 1)[1]),
                    col(AuditEvent.action).startswith("vote."),
                )
            ).all()
    finally:
        engine.dispose()
    assert actions == ["vote.cast"]
