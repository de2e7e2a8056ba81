"""Changes requested, as the people involved meet it: two faculty council members ask for changes, each with a
reason; the proposer finds every reason by name at the top of the proposal, edits, answers each point and
resubmits; the council sees the answers beside the redline of the new submission, in round 2. axe runs on every
page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_a11y, goto, login
from tests.browser.test_approval import (
    ACADEMIC,
    COUNCIL_CHAIR,
    COUNCIL_MEMBER,
    expect_stage,
    fill_and_leave,
    fill_elements,
    logout,
    open_submit_dialog,
    save_new_draft,
    start_proposal,
    submit,
    unique_title,
    vote_as,
)

REASON_CHAIR = "Name the employers who asked for this."
REASON_MEMBER = "The second outcome cannot be assessed as written."


def test_council_requests_changes_and_the_proposer_answers_each_point(page: Page) -> None:
    title = unique_title("Grid Data Literacy")
    start_proposal(page, "Standalone")
    fill_elements(page, title)
    path = save_new_draft(page, title)
    # Before submission the stage bar shows the real route from policy.
    stages = page.get_by_role("list", name="Stages of this proposal")
    expect(stages.get_by_role("listitem")).to_contain_text(
        ["Draft", "Submitted", "Faculty council review", "Lifelong-learning committee review", "QA office review"]
    )
    submit(page)
    logout(page)

    vote_as(page, COUNCIL_CHAIR, path, "Request changes", REASON_CHAIR)
    vote_as(page, COUNCIL_MEMBER, path, "Request changes", REASON_MEMBER)

    # The proposer sees who asked for what, by name, at the top; the stages passed stay marked.
    login(page, ACADEMIC)
    goto(page, path)
    expect_stage(page, "Changes requested")
    asked = page.get_by_role("region", name="Changes requested: Faculty council, round 1")
    expect(asked.get_by_role("listitem")).to_have_text(
        [
            re.compile(rf"Carla Chair \(Request changes\): {re.escape(REASON_CHAIR)}"),
            re.compile(rf"Chris Council \(Request changes\): {re.escape(REASON_MEMBER)}"),
        ]
    )
    expect(page.locator(".workflow .step-done")).to_have_count(2)
    expect(page.locator(".workflow .step-stopped")).to_have_text(re.compile("Faculty council review"))
    expect(page.get_by_text(re.compile(r"next: "))).to_have_count(0)

    with page.expect_navigation():
        page.get_by_role("link", name="Edit", exact=True).click()
    fill_and_leave(page, "Partners", "GridCo and VoltNet", "partners")
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    check_a11y(page)

    # Resubmitting asks for confirmation, with one short answer per point raised; Cancel closes the dialog.
    dialog = open_submit_dialog(page, "Resubmit")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    dialog = open_submit_dialog(page, "Resubmit")
    dialog.get_by_role("textbox", name=re.compile(re.escape(REASON_CHAIR))).fill(
        "GridCo and VoltNet, letters attached."
    )
    dialog.get_by_role("textbox", name=re.compile(re.escape(REASON_MEMBER))).fill("Reworded it with a measurable verb.")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Yes, resubmit with my responses").click()
    expect(page.get_by_role("status").filter(has_text="Submitted.")).to_be_visible()
    check_a11y(page)
    expect_stage(page, "Faculty council review")
    logout(page)

    # The council sees the answers beside the redline, in round 2.
    login(page, COUNCIL_CHAIR)
    goto(page, path)
    expect(page.get_by_role("region", name="Votes so far: Faculty council, round 2")).to_be_visible()
    changes = page.get_by_role("region", name="What changed")
    expect(changes.get_by_role("table", name="Changes in submission 2 against submission 1")).to_contain_text("GridCo")
    answers = changes.get_by_role("complementary", name="The proposer's response to the points raised")
    expect(answers).to_contain_text(REASON_CHAIR)
    expect(answers).to_contain_text("GridCo and VoltNet, letters attached.")
    expect(answers).to_contain_text("Reworded it with a measurable verb.")
    rounds = page.get_by_role("region", name="Decisions and votes by round")
    expect(
        rounds.get_by_role("heading", name=re.compile(r"^Faculty council, round 1: Request changes"))
    ).to_be_visible()
    check_a11y(page)
