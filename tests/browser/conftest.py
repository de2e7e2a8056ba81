"""Browser tests: the real app in a uvicorn subprocess, driven by Debian's headless Chromium.

Every test in this folder is marked ``browser``. Helpers for the tests:

- ``goto(page, path)`` navigates and runs the accessibility check on the page it lands on;
- ``check_a11y(page)`` runs axe-core and fails on any serious or critical violation (call it after every
  htmx swap or form post a test makes);
- ``login(page, email, password)`` logs in through the login form, as a user would.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, Response

from app.demo import DEMO_PASSWORD
from app.settings import ROOT
from tests.conftest import fresh_database_url
from tests.live import serve

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SEVERE_IMPACTS = frozenset({"serious", "critical"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


# --- the application under test ------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The database the app under test uses (tests may write to it, for what no page creates yet)."""
    # SQLite in tmp by default; a new database on the server when TEST_DATABASE_URL is PostgreSQL.
    database_url, drop = fresh_database_url(tmp_path_factory.mktemp("browser-db"), "browser")
    yield database_url
    drop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, live_database_url: str) -> Iterator[str]:
    """Start `uvicorn app.main:create_app --factory` on a free port over a fresh, migrated demo database."""
    tmp = tmp_path_factory.mktemp("browser")
    env = {"MCQA_POLICY_DIR": str(policies_without_checklist_gate(tmp))}
    with serve(tmp, "browser", database_url=live_database_url, extra_env=env) as server:
        yield server.url


def policies_without_checklist_gate(tmp: Path) -> Path:
    """The shipped policies with the ESG checklist's gate off, so that browser tests of approval approve without
    answering it (tests/browser/test_checklist.py serves the shipped policies)."""
    directory = tmp / "policies"
    shutil.copytree(ROOT / "policies", directory)
    checklist = directory / "esg_part1.yaml"
    text = checklist.read_text()
    assert "gate_decisions: true" in text
    checklist.write_text(text.replace("gate_decisions: true", "gate_decisions: false"))
    return directory


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-playwright gives every browser context this base URL, so tests navigate with paths."""
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("MCQA_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {executable}. The browser tests need Debian's Chromium: run "
            "`apt-get install -y chromium` (or `make browser-deps`), or set MCQA_CHROMIUM to its path. "
            "(`playwright install` cannot download browsers here.)",
            pytrace=False,
        )
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "headless": browser_type_launch_args.get("headless", True),  # --headed still works for debugging
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def _fail_fast(context: BrowserContext) -> None:
    """A local server answers in milliseconds: wait 10 s for an element or a page, not Playwright's 30 s."""
    context.set_default_timeout(10_000)


# --- helpers for the tests -----------------------------------------------------------------------

_axe = Axe()


def check_a11y(page: Page) -> None:
    """Run axe-core on the current page; fail listing every serious or critical violation."""
    violations = [v for v in _axe.run(page).response["violations"] if v.get("impact") in SEVERE_IMPACTS]
    if not violations:
        return
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:3])
        more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
        lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} -> {targets}{more}")
    raise AssertionError(f"Accessibility violations on {page.url}:\n" + "\n".join(lines))


def goto(page: Page, path: str) -> Response:
    """Navigate to a path of the app under test and check the page it lands on with axe."""
    response = page.goto(path)
    assert response is not None, f"no response for {path}"
    check_a11y(page)
    return response


def login(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Open the login page and log in through the form; returns once the next page has loaded."""
    goto(page, "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
