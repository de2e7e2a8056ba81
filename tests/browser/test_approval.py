"""The approval workflow as its users meet it: an academic drafts a proposal with inline checks and submits it,
the bodies on its route vote in turn, and the published micro-credential appears in the public catalogue; an
unbundled proposal skips the lifelong-learning committee, goes back for changes with a redline of what changed,
and is rejected; the timeline says who did what. axe runs on every page, and after the htmx swaps that change what
is shown: an inline error and its fix, a refused vote in the decision panel, the catalogue search."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, Response, expect

from tests.browser.conftest import check_a11y, goto, login

ACADEMIC = "academic@example.org"
COUNCIL_CHAIR = "council1@example.org"
COUNCIL_MEMBER = "council2@example.org"
LLL_CHAIR = "lll1@example.org"
LLL_MEMBER = "lll2@example.org"
QA = "qa@example.org"


# --- helpers -------------------------------------------------------------------------------------


def unique_title(prefix: str) -> str:
    """The live server's database is shared by all browser tests: every proposal gets its own title."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def logout(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You have been logged out.")


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def mark_page(page: Page) -> None:
    """Mark the document, to prove later that an htmx swap did not load a new page."""
    page.evaluate("() => { window.__samePage = true; }")


def assert_same_page(page: Page) -> None:
    assert page.evaluate("() => window.__samePage === true"), "the page was reloaded"


def is_check(field: str) -> Callable[[Response], bool]:
    return lambda r: f"/proposals/check?field={field}" in r.url and r.request.method == "POST"


def leave(page: Page, box: Locator, field: str) -> Response:
    """Leave a field with Tab, as a user would, and wait for the answer of its inline check."""
    with page.expect_response(is_check(field)) as info:
        box.press("Tab")
    return info.value


def fill_and_leave(page: Page, name: str, value: str, field: str) -> Response:
    box = page.get_by_role("textbox", name=name, exact=True)
    box.fill(value)
    response = leave(page, box, field)
    expect(page.get_by_role("textbox", name=name, exact=True)).to_have_value(value)
    return response


def choose(page: Page, name: str, field: str, *, label: str) -> None:
    with page.expect_response(is_check(field)):
        page.get_by_role("combobox", name=name, exact=True).select_option(label=label)
    expect(page.get_by_role("combobox", name=name, exact=True)).to_have_value(re.compile(r"\S"))


def tick(page: Page, name: str, field: str) -> None:
    """Tick one box of a group; wait for the group's check so the next click does not race the swap."""
    with page.expect_response(is_check(field)):
        page.get_by_role("checkbox", name=name, exact=True).check()
    expect(page.get_by_role("checkbox", name=name, exact=True)).to_be_checked()


def meter(page: Page) -> Locator:
    return page.get_by_role("meter", name=re.compile(r"^Mandatory elements complete"))


def meter_value(page: Page) -> float:
    value = meter(page).get_attribute("value")
    assert value is not None
    return float(value)


def fact(page: Page, term: str) -> Locator:
    """The value of one of the facts at the top of the proposal page (Kind, Faculty, Proposer, Stage)."""
    return page.locator("dl.facts").first.locator(f"dt:text-is('{term}') + dd")


def start_proposal(page: Page, kind: str) -> None:
    """Log in as the academic and open a new proposal of this kind from "My proposals"."""
    login(page, ACADEMIC)
    with page.expect_navigation():
        main_nav(page).get_by_role("link", name="My proposals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My proposals")
    check_a11y(page)
    with page.expect_navigation():
        page.get_by_role("link", name="New proposal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New micro-credential proposal")
    check_a11y(page)

    radio = page.get_by_role("radio", name=kind, exact=True)
    if not radio.is_checked():  # Standalone is preselected; changing the kind updates the meter
        with page.expect_response(is_check("kind")):
            radio.check()
        check_a11y(page)
    expect(radio).to_be_checked()


def fill_elements(page: Page, title: str, *, ects: bool = True, labour_market: bool = True) -> None:
    """Fill the standard elements a proposal needs to be submitted (the institution's defaults fill the rest)."""
    fill_and_leave(page, "Title", title, "title")
    fill_and_leave(
        page,
        "Learning outcomes",
        "Analyse energy data with Python\nVisualise consumption patterns for stakeholders",
        "learning_outcomes",
    )
    if ects:
        fill_and_leave(page, "Notional workload (ECTS)", "5", "ects")
    fill_and_leave(page, "Notional workload (hours)", "140", "hours")
    choose(page, "EQF level", "eqf_level", label="EQF level 6")
    tick(page, "Project", "assessment_types")
    tick(page, "Written assignment", "assessment_types")
    fill_and_leave(
        page, "Assessment: description", "A data-analysis project and a short written report.", "assessment_description"
    )
    choose(page, "Form of participation", "participation_form", label="Blended")
    fill_and_leave(page, "Target group", "Energy engineers in industry.", "target_group")
    fill_and_leave(page, "Need it answers", "Utilities need analysts who can work with smart-meter data.", "need")
    if labour_market:
        fill_and_leave(
            page,
            "Evidence of labour-market need",
            "Three regional utilities ask for staff trained in energy data analysis.",
            "labour_market_evidence",
        )
    fill_and_leave(page, "Language(s)", "English, Dutch", "languages")


def save_new_draft(page: Page, title: str) -> str:
    """Save the draft; returns the proposal page's path."""
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("status").filter(has_text="Mandatory elements complete")).to_contain_text("100%")
    check_a11y(page)
    match = re.search(r"/proposals/\d+$", page.url)
    assert match, f"not on a proposal page: {page.url}"
    return match.group(0)


def open_submit_dialog(page: Page, button: str = "Submit for approval") -> Locator:
    """Click the submit button: it asks for confirmation in a dialog, which is returned."""
    page.get_by_role("region", name="What you can do").get_by_role("button", name=button, exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    check_a11y(page)
    return dialog


def submit(page: Page, button: str = "Submit for approval", confirm: str = "Yes, submit") -> None:
    dialog = open_submit_dialog(page, button)
    with page.expect_navigation():
        dialog.get_by_role("button", name=confirm).click()
    expect(page.get_by_role("status").filter(has_text="Submitted.")).to_be_visible()
    check_a11y(page)


def vote(page: Page, choice: str, comment: str = "") -> None:
    """Cast a vote in the decision panel that succeeds (htmx then loads the proposal page again)."""
    panel = page.get_by_role("region", name="What you can do")
    panel.get_by_role("radio", name=choice, exact=True).check()
    if comment:
        panel.get_by_role("textbox", name=re.compile(r"^Comment")).fill(comment)
    with page.expect_navigation():
        panel.get_by_role("button", name="Record my vote").click()
    expect(page.get_by_role("status").filter(has_text="Your vote has been recorded.")).to_be_visible()
    check_a11y(page)


def vote_as(page: Page, email: str, path: str, choice: str, comment: str = "") -> None:
    """Another member votes. The page before the vote is the one axe checked for the previous voter; the page
    after it is checked in ``vote``."""
    login(page, email)
    page.goto(path)
    vote(page, choice, comment)
    logout(page)


SIDE_STATES = frozenset({"Changes requested", "Rejected", "Withdrawn"})


def expect_stage(page: Page, label: str) -> None:
    """The status badge, the Stage fact and the workflow diagram all show the stage."""
    expect(page.locator("#status")).to_have_text(label)
    expect(fact(page, "Stage")).to_contain_text(label)
    workflow = page.get_by_role("region", name="Approval workflow")
    if label in SIDE_STATES:  # off the main line: shown next to the stages
        expect(workflow.locator("#status-banner")).to_contain_text(label)
    else:
        expect(workflow.get_by_role("listitem").and_(page.locator("[aria-current=step]"))).to_contain_text(label)


def find_in_catalogue(page: Page, title: str) -> None:
    """Search the public catalogue for the title, as a visitor who is not logged in, and open the entry."""
    goto(page, "/catalogue")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Catalogue"))
    mark_page(page)
    with page.expect_response(lambda r: "/catalogue?" in r.url and "q=" in r.url):
        page.get_by_role("searchbox", name=re.compile(r"^Search")).fill(title)
    link = page.get_by_role("link", name=title)
    expect(link).to_be_visible()
    assert_same_page(page)
    check_a11y(page)
    with page.expect_navigation():
        link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    check_a11y(page)


# --- the tests -----------------------------------------------------------------------------------


def test_standalone_proposal_goes_through_every_body_to_the_catalogue(page: Page) -> None:
    title = unique_title("Energy Data Analytics")
    start_proposal(page, "Standalone")
    mark_page(page)
    fill_elements(page, title, ects=False)

    # An ECTS value outside the policy's bounds: the inline check explains it next to the field, keeps the
    # value, and the page is not reloaded.
    before = meter_value(page)
    ects = page.get_by_role("textbox", name="Notional workload (ECTS)", exact=True)
    ects.fill("45")
    response = leave(page, ects, "ects")
    assert response.status == 422
    expect(ects).to_have_value("45")
    expect(ects).to_have_attribute("aria-invalid", "true")
    expect(ects).to_have_accessible_description(re.compile(r"Must be between 1 and 30 ECTS\."))
    expect(page.locator("#field-ects")).to_contain_text("Must be between 1 and 30 ECTS.")
    assert_same_page(page)
    check_a11y(page)

    # Fixed: the error goes, and the meter counts the workload in.
    ects.fill("5")
    response = leave(page, ects, "ects")
    assert response.status == 200
    expect(ects).to_have_value("5")
    expect(ects).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-ects")).to_have_text("")
    expect(meter(page)).to_have_attribute("value", "100")
    assert meter_value(page) > before
    expect(page.get_by_role("status").filter(has_text="Mandatory elements complete")).to_contain_text(
        "All mandatory elements are filled in."
    )
    assert_same_page(page)
    check_a11y(page)

    # Hours that do not fit the ECTS are explained on the hours; changing the ECTS to fit clears that message too.
    hours = page.get_by_role("textbox", name="Notional workload (hours)", exact=True)
    assert fill_and_leave(page, "Notional workload (hours)", "400", "hours").status == 422
    expect(hours).to_have_attribute("aria-invalid", "true")
    expect(hours).to_have_accessible_description(re.compile(r"5 ECTS means 125-150 hours of learning"))
    check_a11y(page)
    assert fill_and_leave(page, "Notional workload (ECTS)", "15", "ects").status == 200
    expect(page.locator("#e-hours")).to_have_text("")
    expect(hours).not_to_have_attribute("aria-invalid", "true")
    expect(hours).to_have_value("400")
    assert_same_page(page)
    check_a11y(page)

    path = save_new_draft(page, title)
    expect_stage(page, "Draft")
    submit(page)
    expect_stage(page, "Faculty council review")
    expect(fact(page, "Stage")).to_contain_text("Faculty council")
    logout(page)

    # The council's chair finds it under "Awaiting my decision".
    login(page, COUNCIL_CHAIR)
    awaiting_link = main_nav(page).get_by_role("link", name=re.compile(r"^Awaiting my decision"))
    expect(awaiting_link).to_have_accessible_name(re.compile(r"Awaiting my decision [1-9]\d* proposals"))
    count = re.sub(r"\D", "", awaiting_link.locator("#awaiting-count").inner_text())
    with page.expect_navigation():
        awaiting_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Awaiting my decision")
    expect(page.get_by_role("table").locator("caption")).to_have_text(
        f"{count} proposal{'s' if count != '1' else ''} waiting for your vote"
    )
    check_a11y(page)
    with page.expect_navigation():
        page.get_by_role("table").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    check_a11y(page)
    vote(page, "Approve")
    expect_stage(page, "Faculty council review")  # one vote of three: no quorum yet
    votes = page.get_by_role("region", name="Votes so far: Faculty council, round 1")
    expect(votes.get_by_role("row", name=re.compile(r"Carla Chair\s+Approve"))).to_be_visible()
    expect(main_nav(page).locator("#awaiting-count")).to_contain_text(str(int(count) - 1))
    logout(page)

    vote_as(page, COUNCIL_MEMBER, path, "Approve")  # 2 of 3 approve: the majority rule is met
    login(page, LLL_CHAIR)
    goto(page, path)
    expect_stage(page, "Lifelong-learning committee review")
    vote(page, "Approve")
    logout(page)

    vote_as(page, LLL_MEMBER, path, "Approve")
    login(page, QA)
    goto(page, path)
    expect_stage(page, "QA office review")
    vote(page, "Approve")
    expect_stage(page, "Published")
    decisions = page.get_by_role("region", name="Decisions and votes by round").get_by_role("heading", level=4)
    expect(decisions).to_have_text(
        [
            re.compile(rf"^{body}, round 1: Approve")
            for body in ("Faculty council", "Lifelong-learning committee", "QA office")
        ]
    )
    logout(page)

    find_in_catalogue(page, title)


def test_unbundled_proposal_skips_lll_gets_changes_requested_and_is_rejected(page: Page) -> None:
    title = unique_title("Machine Learning Essentials")
    start_proposal(page, "Unbundled from a degree programme")
    fill_elements(page, title, labour_market=False)
    choose(page, "Parent degree programme", "parent_programme_id", label="BSC-CS BSc Computer Science")
    # The module list follows the programme: only its modules are offered once it is chosen.
    module = page.get_by_role("combobox", name="Parent module", exact=True)
    expect(module).to_have_accessible_description(re.compile(r"in BSc Computer Science"))
    expect(module.locator("optgroup")).to_have_count(1)
    check_a11y(page)
    choose(page, "Parent module", "parent_module_id", label="CS320 Machine Learning (6 ECTS)")
    expect(meter(page)).to_have_attribute("value", "100")
    check_a11y(page)
    path = save_new_draft(page, title)
    expect(fact(page, "Kind")).to_have_text("Unbundled from a degree programme")
    submit(page)
    expect_stage(page, "Faculty council review")
    stages = page.get_by_role("list", name="Stages of this proposal")
    expect(stages).not_to_contain_text("Lifelong-learning")
    logout(page)

    vote_as(page, COUNCIL_CHAIR, path, "Approve")
    login(page, COUNCIL_MEMBER)
    goto(page, path)
    vote(page, "Approve")
    expect_stage(page, "QA office review")  # straight on: no lifelong-learning committee for unbundled
    logout(page)

    # Requesting changes needs a comment: refused in the decision panel, without leaving the page.
    login(page, QA)
    goto(page, path)
    mark_page(page)
    panel = page.get_by_role("region", name="What you can do")
    panel.get_by_role("radio", name="Request changes", exact=True).check()
    with page.expect_response(lambda r: r.url.endswith(f"{path}/votes")) as info:
        panel.get_by_role("button", name="Record my vote").click()
    assert info.value.status == 422
    alert = panel.get_by_role("alert")
    expect(alert).to_contain_text("a comment is required")
    comment = panel.get_by_role("textbox", name=re.compile(r"^Comment"))
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(comment).to_have_accessible_description(re.compile(r"Required"))
    expect(panel.get_by_role("radio", name="Request changes", exact=True)).to_be_checked()
    expect_stage(page, "QA office review")
    assert_same_page(page)
    check_a11y(page)

    vote(page, "Request changes", "Describe how the project is marked.")
    expect_stage(page, "Changes requested")
    logout(page)

    # The academic edits the assessment description and resubmits: back to the QA office, with a redline.
    login(page, ACADEMIC)
    goto(page, path)
    with page.expect_navigation():
        page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit: {title}")
    check_a11y(page)
    new_description = "A data-analysis project marked with a published rubric, and a short written report."
    fill_and_leave(page, "Assessment: description", new_description, "assessment_description")
    check_a11y(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Changes saved.")).to_be_visible()
    check_a11y(page)
    expect(page.get_by_role("region", name="Changes requested: QA office, round 1")).to_contain_text(
        "Describe how the project is marked."
    )
    dialog = open_submit_dialog(page, "Resubmit")
    dialog.get_by_role("textbox", name=re.compile(r"Describe how the project is marked")).fill("Marked with a rubric.")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Yes, resubmit with my responses").click()
    expect(page.get_by_role("status").filter(has_text="Submitted.")).to_be_visible()
    check_a11y(page)
    expect_stage(page, "QA office review")

    changes = page.get_by_role("region", name="What changed")
    redline = changes.get_by_role("table", name="Changes in submission 2 against submission 1")
    expect(redline).to_be_visible()
    rows = redline.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("rowheader")).to_contain_text("Assessment: description")
    expect(rows.locator("ins")).to_contain_text("rubric")
    logout(page)

    # Rejecting, with a reason, is final: the academic can no longer edit or submit.
    login(page, QA)
    goto(page, path)
    vote(page, "Reject", "The module already covers this; no separate credential is needed.")
    expect_stage(page, "Rejected")
    logout(page)

    login(page, ACADEMIC)
    goto(page, path)
    expect_stage(page, "Rejected")
    panel = page.get_by_role("region", name="What you can do")
    expect(panel).to_contain_text("There is nothing for you to do on this proposal now.")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"Submit|Resubmit"))).to_have_count(0)
    rounds = page.get_by_role("region", name="Decisions and votes by round")
    expect(rounds.get_by_role("heading", name=re.compile(r"^QA office, round 2: Reject"))).to_be_visible()
    expect(rounds).to_contain_text("The module already covers this")


def test_timeline_lists_each_transition_with_who_did_it(page: Page) -> None:
    title = unique_title("Timeline Check")
    start_proposal(page, "Standalone")
    fill_elements(page, title)
    path = save_new_draft(page, title)
    submit(page)
    logout(page)

    vote_as(page, COUNCIL_CHAIR, path, "Request changes", "Add a second assessment.")
    login(page, COUNCIL_MEMBER)
    goto(page, path)
    vote(page, "Request changes", "Agreed: one more assessment.")
    expect_stage(page, "Changes requested")

    # Newest first: each transition with who made it (a body's decision is the system's, after its members'
    # votes), and the comments given.
    timeline = page.get_by_role("region", name="Timeline").get_by_role("listitem")
    expect(timeline.first).to_contain_text(
        "request changes (Faculty council review → Changes requested) by the system, Faculty council decision: "
        "“Add a second assessment.; Agreed: one more assessment.”"
    )
    expect(timeline).to_contain_text(
        [
            "request changes (Faculty council review → Changes requested) by the system, Faculty council decision",
            "vote: cast by Chris Council, faculty council: “Agreed: one more assessment.”",
            "vote: cast by Carla Chair, chair, faculty council: “Add a second assessment.”",
            "route (Submitted → Faculty council review) by the system ·",
            "submit (Draft → Submitted) by Alex Academic, proposer",
            "created by Alex Academic, proposer",
        ]
    )
    expect(timeline.last).to_contain_text("created by Alex Academic")
    check_a11y(page)
