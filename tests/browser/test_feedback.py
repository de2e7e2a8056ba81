"""Learner feedback end to end: the QA office makes and opens a survey for an offering and downloads single-use
links; learners answer on a 390 px phone with JavaScript off and on; a second use is refused; the results stay
hidden until the survey is closed with enough answers, then show with charts and tables. axe checks the learner's
form and the results page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlmodel import Session, select

from app.catalogue.models import Credential
from app.db import make_engine
from app.offerings import service as offerings
from app.security import load_actor
from app.users.models import User
from tests.browser.conftest import check_a11y, goto, login

PHONE: ViewportSize = {"width": 390, "height": 844}


def _offering(database_url: str) -> int:
    """An offering that ended yesterday (offerings have no page of their own here yet)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            credential = session.exec(select(Credential).where(Credential.current_version_no > 0)).first()
            assert credential is not None and credential.id is not None
            owner = load_actor(session, session.get_one(User, credential.owner_id))
            today = date.today()
            data = offerings.OfferingIn(
                starts_on=today - timedelta(days=60),
                ends_on=today - timedelta(days=1),
                language="en",
                participation_form="online",
            )
            offering = offerings.add_offering(session, credential.id, owner, data)
            session.commit()
            return offering.id or 0
    finally:
        engine.dispose()


def _answer(page: Page, score: int) -> None:
    for group in page.locator("fieldset.likert").all():
        group.get_by_role("radio", name=re.compile(rf"^{score}\b")).check()
    page.get_by_label("What should we improve?").fill("More worked examples.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send my answers").click()


def _fits_the_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_learners_answer_once_and_results_appear_above_the_threshold(
    browser: Browser, page: Page, base_url: str, live_database_url: str, tmp_path: Path
) -> None:
    offering_id = _offering(live_database_url)
    login(page, "qa@example.org")
    goto(page, f"/offerings/{offering_id}/feedback")
    with page.expect_navigation():
        page.get_by_role("button", name="Create the survey").click()
    check_a11y(page)
    survey_path = page.url.removeprefix(base_url)
    expect(page.locator("#survey-status")).to_have_text("Draft")
    with page.expect_navigation():
        page.get_by_role("button", name="Open the survey").click()
    expect(page.locator("#survey-status")).to_have_text("Open")
    page.get_by_label("Number of links").fill("6")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download links (CSV)").click()
    saved = tmp_path / "links.csv"
    download.value.save_as(saved)
    links = ["/" + u.split("/", 3)[3] for u in re.findall(r"https?://\S+/feedback/fb_[\w-]+", saved.read_text())]
    assert len(links) == 6

    # A learner on a phone with JavaScript off: a plain form post. (axe needs JavaScript: it checks the same
    # pages in the context below.)
    no_js = browser.new_context(base_url=base_url, java_script_enabled=False, viewport=PHONE)
    no_js.set_default_timeout(10_000)
    try:
        learner = no_js.new_page()
        learner.goto(links[0])
        _answer(learner, 4)
        expect(learner.locator("#confirmation")).to_contain_text("without any link to you")
        learner.goto(links[0])
        expect(learner.locator("#link-state")).to_contain_text("already been used")
    finally:
        no_js.close()

    # Another with JavaScript on, by keyboard as far as the first question.
    with_js = browser.new_context(base_url=base_url, viewport=PHONE)
    with_js.set_default_timeout(10_000)
    try:
        learner = with_js.new_page()
        goto(learner, links[1])
        _fits_the_phone(learner)
        learner.locator("input[name=q_outcomes_clear][value='5']").focus()
        learner.keyboard.press("Space")
        expect(learner.locator("input[name=q_outcomes_clear][value='5']")).to_be_checked()
        _answer(learner, 5)
        expect(learner.locator("#confirmation")).to_be_visible()
        check_a11y(learner)
        # The second use of the link is refused, and says so.
        goto(learner, links[1])
        expect(learner.get_by_role("heading", name="Already answered")).to_be_visible()
    finally:
        with_js.close()

    goto(page, f"{survey_path}/results")
    expect(page.locator("#results-hidden")).to_contain_text("results are shown once it is closed")
    for link, score in zip(links[2:5], (3, 4, 5), strict=True):
        answered = httpx.post(base_url + link, json={"answers": {"outcomes_clear": score, "support": score}})
        assert answered.status_code == 201, answered.text

    goto(page, survey_path)
    with page.expect_navigation():
        page.get_by_role("button", name="Close the survey").click()
    expect(page.locator("#survey-status")).to_have_text("Closed")
    goto(page, f"{survey_path}/results")
    expect(page.locator("#result-responses")).to_have_text("5 responses")
    expect(page.locator("svg.chart-svg").first).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^The learning outcomes were clear.*5 answers"))).to_be_visible()
    expect(page.get_by_role("table").first).to_be_visible()
    # Questions only two learners answered stay hidden.
    expect(page.get_by_text("Fewer answers than the anonymity threshold (5): not shown.").first).to_be_visible()
