"""Every feedback page is valid HTML (the W3C checker, as tests/test_html_valid.py runs it): the learner's form
and its refusals and thanks, the survey page in each state, the results hidden and shown, the open link."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.db import utcnow
from app.feedback import service
from app.policies import Policies
from tests.conftest import login, post_form
from tests.feedback.factories import fill, make_offering, open_survey, owner_of_survey
from tests.test_html_valid import BROKEN, Pages, run_vnu


def test_feedback_pages_are_valid_html(client: TestClient, db: Session, policies: Policies, tmp_path: Path) -> None:
    pages = Pages(client, tmp_path)
    today = utcnow().date()
    current = open_survey(
        db,
        policies,
        make_offering(db, ends_on=today, language="nl"),
        opens_on=today,
        closes_on=today + timedelta(days=7),
    )
    owner = owner_of_survey(db, current)
    links = ["/" + u.split("/", 3)[3] for u in service.make_links(db, current.id or 0, owner, 2, base_url="http://t")]
    pages.get("learner", links[0])
    pages.save("learner bad answer", post_form(client, links[0], {"q_outcomes_clear": "8", "q_best": "Labs"}))
    pages.save("learner thanks", post_form(client, links[0], {"q_outcomes_clear": "4"}))
    pages.get("learner used link", links[0])
    pages.get("learner unknown link", "/feedback/fb_nothing")

    closed = open_survey(db, policies)
    fill(db, closed, owner_of_survey(db, closed), [4, 5, 3, 2, 5], comment="More labs")
    service.act(db, closed.id or 0, "close", owner_of_survey(db, closed), policies)
    draft_offering = make_offering(db)
    login(client, "academic@example.org")
    pages.get("owner", f"/offerings/{draft_offering.id}/feedback")
    pages.get("owner", f"/surveys/{current.id}")
    pages.get("owner", f"/surveys/{current.id}/results")
    pages.get("owner", f"/surveys/{closed.id}")
    pages.get("owner", f"/surveys/{closed.id}/results")
    pages.save("owner open link", post_form(client, f"/surveys/{current.id}/open-link"))
    login(client, "qa@example.org")
    pages.get("qa", f"/surveys/{closed.id}")

    broken = tmp_path / "broken.html"
    broken.write_text(BROKEN, encoding="utf-8")
    errors = run_vnu([broken, *pages.files])
    assert len(errors.pop(broken, [])) >= 2, "the checker did not report the broken page's errors"
    assert len(pages.files) == 12
    assert {pages.files[path]: found for path, found in errors.items()} == {}
