"""An administrator keeps the institution's external QA record (ESG 1.10) up to date, on a phone-sized screen too;
the proposal form then shows its text, read-only. axe checks every state of the page."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_a11y, goto, login

ADMIN = "admin@example.org"
ACADEMIC = "academic@example.org"


def test_admin_changes_the_external_qa_record(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, ADMIN)
    goto(page, "/admin/external-qa")
    expect(page.get_by_role("heading", level=1)).to_have_text("External quality assurance")
    statement = page.get_by_role("region", name="What proposals and the catalogue say")
    expect(statement).to_contain_text("NVAO")  # the demo's record
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"

    decided = date.today() - timedelta(days=30)
    page.get_by_label("Quality assurance agency").fill("AQ Austria")
    page.get_by_role("combobox", name="Decision").select_option("positive_with_conditions")
    page.get_by_label("Decision date").fill(decided.isoformat())
    page.get_by_label("Next review due").fill((decided - timedelta(days=1)).isoformat())
    page.get_by_label("DEQAR report ID").fill("98765")
    page.get_by_label("DEQAR report link").fill("https://data.deqar.eu/report/98765")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert")).to_contain_text("The next review must be after the decision date.")
    expect(page.get_by_label("Quality assurance agency")).to_have_value("AQ Austria")  # kept as typed
    expect(page.get_by_label("DEQAR report ID")).to_have_value("98765")
    expect(statement).to_contain_text("NVAO")  # nothing saved
    check_a11y(page)

    page.get_by_label("Next review due").fill((decided + timedelta(days=6 * 365)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/admin/external-qa$"))
    expect(page.get_by_role("status")).to_contain_text("External quality assurance by AQ Austria recorded")
    expect(statement).to_contain_text("AQ Austria (an EQAR-registered agency), decision positive with conditions")
    expect(page.get_by_role("link", name="98765")).to_have_attribute("href", "https://data.deqar.eu/report/98765")
    expect(page.locator("#timeline")).to_contain_text("changed")
    check_a11y(page)

    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    login(page, ACADEMIC)
    goto(page, "/proposals/new")
    element = page.locator("#field-quality_assurance")
    expect(element).to_contain_text("AQ Austria")
    expect(element.get_by_role("textbox")).to_have_count(0)  # read-only: filled from the record
