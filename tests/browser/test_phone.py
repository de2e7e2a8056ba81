"""Every main page on a 390 x 844 phone, as each demo role: nothing scrolls sideways (wide tables stack or scroll
inside their own box), and on the proposal form the sticky completeness meter and save bar take at most 15% of
the height. The live server's database holds the demo showcase, so the pages have real content."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, ViewportSize

from tests.browser.conftest import login

PHONE: ViewportSize = {"width": 390, "height": 844}
ROLES = ("academic@example.org", "council1@example.org", "lll1@example.org", "qa@example.org", "admin@example.org")
MAIN_PAGES = (
    "/",
    "/proposals",
    "/proposals/new",
    "/awaiting",
    "/pipeline",
    "/catalogue",
    "/notifications",
    "/account",
    "/admin/users",
    "/admin/committees",
    "/admin/programmes",
    "/admin/org-units",
    "/admin/outbox",
)
# Pages reached from the lists: a few of each kind.
FOLLOW = {
    "/proposals": r"/proposals/\d+",
    "/awaiting": r"/proposals/\d+",
    "/pipeline": r"/proposals/\d+",
    "/catalogue": r"/catalogue/\d+",
    "/admin/committees": r"/admin/committees/\d+",
    "/admin/programmes": r"/admin/programmes/\d+",
}


def overflow(page: Page) -> int:
    """How far the page scrolls sideways, in CSS pixels (0: it fits)."""
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"))


def links(page: Page, pattern: str, limit: int = 4) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    return list(dict.fromkeys(h for h in hrefs if re.fullmatch(pattern, h)))[:limit]


def test_no_page_scrolls_sideways_on_a_phone(browser: Browser, base_url: str) -> None:
    too_wide: list[str] = []
    visited = 0
    for email in (None, *ROLES):
        context = browser.new_context(base_url=base_url, viewport=PHONE)
        page = context.new_page()
        if email:
            login(page, email)
        seen: set[str] = set()
        queue = list(MAIN_PAGES if email else ("/catalogue", "/login"))
        while queue:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = page.goto(path)
            assert response is not None
            if response.status >= 400:  # not this role's page (403): nothing to measure
                continue
            visited += 1
            if (extra := overflow(page)) > 0:
                too_wide.append(f"{email or 'visitor'} {path}: {extra}px too wide")
            if path in FOLLOW:
                queue += links(page, FOLLOW[path])
        context.close()
    assert visited > 40
    assert not too_wide, "pages scroll sideways at 390 px:\n" + "\n".join(too_wide)


def test_the_sticky_meter_and_save_bar_take_at_most_15_percent_of_a_phone(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport=PHONE)
    page = context.new_page()
    login(page, "academic@example.org")
    page.goto("/proposals/new")
    page.mouse.wheel(0, 2000)  # scrolled into the form: both bars are stuck
    page.wait_for_function("() => window.scrollY > 1000")
    heights = page.evaluate(
        "() => ['.proposal-form .form-sidebar', '.proposal-form .form-actions']"
        ".map(s => document.querySelector(s).getBoundingClientRect().height)"
    )
    assert sum(heights) <= 0.15 * PHONE["height"], f"sticky bars take {sum(heights):.0f}px of {PHONE['height']}px"
    context.close()


def test_lists_show_each_proposal_as_a_block_of_labelled_lines_on_a_phone(browser: Browser, base_url: str) -> None:
    """Awaiting and the pipeline stack their rows on a phone. Squeezed into seven or eight columns, they broke every
    word a letter to a line, their caption included, without scrolling sideways."""
    context = browser.new_context(base_url=base_url, viewport=PHONE)
    page = context.new_page()
    login(page, "qa@example.org")
    for path in ("/awaiting", "/pipeline"):
        page.goto(path)
        table = page.locator("main table").first
        width = table.evaluate("t => t.getBoundingClientRect().width")
        caption = table.locator("caption").evaluate("c => c.getBoundingClientRect().height")
        assert caption < 80, f"{path}: the caption is {caption:.0f}px tall"
        title = table.locator("tbody tr td").first
        assert title.get_attribute("data-label") == "Title"
        assert title.evaluate("c => c.getBoundingClientRect().width") > 0.9 * width, f"{path}: rows are not stacked"
    context.close()
