"""The QA officer follows the dashboard's ESG block to the coverage matrix, filters it, follows a cell to the
evidence and opens a checklist report; axe checks each page (the demo data answers checklists)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_a11y, goto, login


def test_qa_officer_reads_the_coverage_matrix_and_a_checklist_report(page: Page) -> None:
    login(page, "qa@example.org")
    block = page.get_by_role("region", name="ESG standards falling short")
    expect(block).to_be_visible()
    with page.expect_navigation():
        block.get_by_role("link", name="Open the ESG coverage matrix").click()
    check_a11y(page)
    matrix = page.get_by_role("table", name=re.compile(r"micro-credentials?, by title"))
    expect(matrix).to_be_visible()
    expect(page.get_by_text("How a cell is decided")).to_be_visible()

    # Filter to one standard: one column of cells, each linked to the checklist at that standard.
    page.get_by_label("Standard", exact=True).select_option("1.2")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert "standard=1.2" in page.url
    check_a11y(page)
    cells = page.locator("table.coverage-matrix tbody a[href*='#std-1-2']")
    assert cells.count() >= 1
    with page.expect_navigation():
        cells.first.click()
    assert re.search(r"/proposals/\d+/checklist#std-1-2$", page.url)
    expect(page.locator("#std-1-2")).to_be_visible()

    # The report, from the checklist page: printable, with the PDF offered.
    with page.expect_navigation():
        page.get_by_role("link", name="Checklist report to print or download as PDF").click()
    check_a11y(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("ESG checklist report")
    expect(page.get_by_role("link", name="Download as PDF")).to_be_visible()
    expect(page.get_by_text("Answered by").first).to_be_visible()

    # On a phone the matrix scrolls inside its own box, not the page.
    page.set_viewport_size({"width": 390, "height": 800})
    goto(page, "/checklists/coverage")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
