"""The demo showcase as a newcomer meets it after ``make run``: the live server's database is loaded by
``app.cli demo``, so the catalogue, the pipeline and the proposal pages have real content (two editions,
conditions, votes, redlines, comment threads). axe checks every page of the tour."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_a11y, goto, login


def links(page: Page, pattern: str) -> list[str]:
    """The distinct paths of the links on the page that match the pattern, in page order."""
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    return list(dict.fromkeys(h for h in hrefs if re.fullmatch(pattern, h)))


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("banner").get_by_role("button", name="Log out").click()


def test_showcase_catalogue_and_proposal_pages_are_accessible(page: Page) -> None:
    goto(page, "/catalogue")
    entries = links(page, r"/catalogue/\d+")
    assert len(entries) >= 5
    revised = []
    for path in entries:
        goto(page, path)
        if page.get_by_role("table", name=re.compile(r"^Edition 2 compared with edition 1")).count():
            revised.append(path)
    assert revised, "a credential in its second edition shows the changes since the first"

    # The proposer's list covers every stage; each page has its own mix of votes, conditions, redlines, threads.
    login(page, "academic@example.org")
    goto(page, "/proposals")
    mine = links(page, r"/proposals/\d+")
    assert len(mine) >= 10
    for path in mine:
        goto(page, path)
    log_out(page)

    # The QA officer: what awaits the office (a revision of a published credential among it), and the pipeline
    # filtered to open conditions.
    login(page, "qa@example.org")
    for listing in ("/awaiting", "/pipeline?open_conditions=1"):
        goto(page, listing)
        found = links(page, r"/proposals/\d+")
        assert found, listing
        for path in found:
            if path not in mine:
                goto(page, path)
                mine.append(path)


def test_a_condition_report_refused_in_place_then_accepted(page: Page) -> None:
    """The proposer of *Climate Risk Analytics* reports its open condition met: blank evidence is refused beside the
    form (the conditions section swapped by htmx, on the same page), then real evidence goes through."""
    login(page, "academic@example.org")
    goto(page, "/proposals")
    page.get_by_role("link", name=re.compile("Climate Risk Analytics")).first.click()
    page.wait_for_load_state()
    url = page.url
    page.get_by_label("Evidence that it is met").fill("   ")
    page.get_by_role("button", name="Report as met").click()
    expect(page.locator("#conditions .field-error", has_text="Required.")).to_be_visible()
    assert page.url == url
    check_a11y(page)
    page.get_by_label("Evidence that it is met").fill("The agreement was signed on 3 March; it is under the evidence.")
    with page.expect_navigation():
        page.get_by_role("button", name="Report as met").click()
    expect(page.locator("#conditions")).to_contain_text("Reported met")
    check_a11y(page)
