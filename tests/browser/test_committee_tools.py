"""Committee tools as a chair and a member on leave meet them: the chair drafts the council's agenda, reorders it
(htmx, no reload) and annotates it, publishes it, reads the meeting pack, and records the decisions from it (a
refusal first, shown next to its item); a member names a substitute, who finds the member's queue and casts the
member's ballot; a proposal is watched. axe runs on every page and after every swap."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from app.db import make_engine
from app.policies import load_policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.security import load_actor
from app.settings import ROOT
from app.users.models import User
from tests.browser.conftest import check_a11y, goto, login
from tests.proposals.factories import complete_content

CHAIR = "council1@example.org"
MEMBER = "council2@example.org"
SUBSTITUTE = "historian@example.org"


def submitted_in_app(database_url: str, *titles: str) -> list[int]:
    """Proposals by the demo academic, submitted to the science council, straight in the app's database."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            policies = load_policies(ROOT / "policies")
            owner = load_actor(session, session.exec(select(User).where(User.email == "academic@example.org")).one())
            ids = []
            for title in titles:
                proposal, _ = service.create_proposal(
                    session, owner, policies, kind=Kind.standalone, values=complete_content(title=title)
                )
                assert proposal.id is not None
                service.submit(session, proposal.id, owner, policies)
                ids.append(proposal.id)
            session.commit()
            return ids
    finally:
        engine.dispose()


def logout(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("banner").get_by_role("button", name="Log out").click()


def status_of(database_url: str, proposal_id: int) -> str:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            proposal = session.get(Proposal, proposal_id)
            assert proposal is not None
            return proposal.status
    finally:
        engine.dispose()


def test_a_chair_builds_an_agenda_publishes_it_and_records_the_decisions(page: Page, live_database_url: str) -> None:
    tag = uuid.uuid4().hex[:6]
    first_title, second_title = f"Grid Storage {tag}", f"Heat Pumps {tag}"
    first, second = submitted_in_app(live_database_url, first_title, second_title)

    login(page, CHAIR)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Agendas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agendas")
    check_a11y(page)
    page.get_by_label("Meeting date").fill((date.today() + timedelta(days=10)).isoformat())
    page.get_by_label("Title (optional)").fill(f"Council meeting {tag}")
    with page.expect_navigation():
        page.get_by_role("button", name="Draft the agenda").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Council meeting {tag}")
    expect(page.locator("#agenda-status")).to_have_text("Draft")
    check_a11y(page)

    items = page.locator("#agenda-items li.agenda-item")

    def titles() -> list[str]:
        return [t.strip() for t in items.locator("p > a").all_inner_texts()]

    assert titles().index(first_title) < titles().index(second_title)
    # Reorder with htmx: the items are swapped in place, the page is not reloaded.
    page.evaluate("() => { window.__samePage = true; }")
    for _ in range(titles().index(second_title) - titles().index(first_title)):
        items.filter(has_text=second_title).get_by_role("button", name=re.compile(r"^Move up")).click()
        expect(page.locator("#toasts")).to_contain_text("Moved up.")
    assert titles().index(second_title) < titles().index(first_title)
    assert page.evaluate("() => window.__samePage === true"), "reordering reloaded the page"
    check_a11y(page)
    number = titles().index(first_title) + 1
    page.get_by_label(f"Note for item {number}").fill("The proposer joins for this item.")
    page.get_by_role("button", name=f"Save note for item {number}").click()
    expect(page.locator("#toasts")).to_contain_text("Note saved.")
    check_a11y(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Publish to the members").click()
    expect(page.get_by_role("status").filter(has_text="Published")).to_be_visible()
    expect(page.locator("#agenda-status")).to_have_text("Published")
    check_a11y(page)

    # The meeting pack: the agenda, each proposal's elements, its redline and checklist sections.
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^Meeting pack")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Meeting pack: Council meeting {tag}")
    expect(page.get_by_role("heading", name=re.compile(rf"\d+\. {first_title}"))).to_be_visible()
    expect(page.locator("body")).to_contain_text("The proposer joins for this item.")
    check_a11y(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    assert download.value.suggested_filename.startswith("meeting-pack-")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    page.go_back()

    # The minutes: every other item "no decision"; one refusal first (changes without a comment).
    minutes = page.get_by_role("region", name="Minutes: the committee's decisions")
    for radio in minutes.get_by_role("radio", name=re.compile(r"^No decision")).all():
        radio.check()
    first_item = minutes.get_by_role("group", name=re.compile(rf"^Item \d+: {first_title}"))
    second_item = minutes.get_by_role("group", name=re.compile(rf"^Item \d+: {second_title}"))
    first_item.get_by_role("radio", name="Approve", exact=True).check()
    second_item.get_by_role("radio", name="Request changes", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Record the minutes").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded: 1 item needs attention.")
    expect(second_item).to_contain_text("a comment is required")
    expect(first_item.get_by_role("radio", name="Approve", exact=True)).to_be_checked()  # what was chosen is kept
    check_a11y(page)
    assert status_of(live_database_url, first) == "faculty_council_review"  # nothing half saved
    second_item.get_by_label(re.compile(r"^Comment")).fill("Name the employers who asked for it.")
    # The first is approved with a condition, as the meeting decided.
    first_item.get_by_role("radio", name="Approve with conditions").check()
    first_item.get_by_label(re.compile(r"^Condition \(")).fill("Publish the assessment rubric.")
    first_item.get_by_label("Condition due on").fill((date.today() + timedelta(days=90)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Record the minutes").click()
    expect(page.get_by_role("status").filter(has_text="The minutes are recorded")).to_be_visible()
    expect(page.locator("#agenda-status")).to_have_text("Minuted")
    check_a11y(page)
    assert status_of(live_database_url, first) == "lll_committee_review"
    assert status_of(live_database_url, second) == "changes_requested"
    goto(page, f"/proposals/{first}")
    expect(page.locator("#conditions")).to_contain_text("Publish the assessment rubric.")
    goto(page, f"/proposals/{second}")
    expect(page.locator("#status")).to_have_text("Changes requested")


def test_a_substitute_acts_during_a_members_leave(page: Page, live_database_url: str) -> None:
    tag = uuid.uuid4().hex[:6]
    [proposal] = submitted_in_app(live_database_url, f"Wind Farm Planning {tag}")

    login(page, MEMBER)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Substitutes").click()
    check_a11y(page)
    page.get_by_role("combobox", name=re.compile(r"^Substitute")).select_option(
        label=f"Harper Historian ({SUBSTITUTE})"
    )
    page.get_by_label("Last day").fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_label(re.compile(r"^Reason")).fill("Research leave")
    with page.expect_navigation():
        page.get_by_role("button", name="Name substitute").click()
    expect(page.get_by_role("status").filter(has_text="Harper Historian stands in for Chris Council.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Research leave")
    expect(row).to_contain_text("In force")
    check_a11y(page)

    logout(page)
    login(page, SUBSTITUTE)
    goto(page, "/awaiting")
    page.get_by_role("link", name=f"Wind Farm Planning {tag}").click()
    page.wait_for_url(re.compile(rf"/proposals/{proposal}$"))
    check_a11y(page)
    # Watching: an FYI on each step.
    with page.expect_navigation():
        page.get_by_role("button", name="Watch this proposal").click()
    expect(page.get_by_role("button", name="Stop watching")).to_be_visible()
    panel = page.get_by_role("region", name="What you can do")
    panel.get_by_role("radio", name="Approve", exact=True).check()
    with page.expect_navigation():
        panel.get_by_role("button", name="Record my vote").click()
    expect(page.get_by_role("status").filter(has_text="Your vote has been recorded.")).to_be_visible()
    check_a11y(page)
    goto(page, "/awaiting")
    expect(page.get_by_role("link", name=f"Wind Farm Planning {tag}")).to_have_count(0)

    # The member, back: the seat has voted (their ballot), and the arrangement ends.
    logout(page)
    login(page, MEMBER)
    goto(page, f"/proposals/{proposal}")
    expect(page.get_by_role("region", name="What you can do")).to_contain_text("you voted: Approve")
    goto(page, "/delegations")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^End now")).first.click()
    expect(page.get_by_role("row").filter(has_text="Research leave").first).to_contain_text("Ended")
    check_a11y(page)
