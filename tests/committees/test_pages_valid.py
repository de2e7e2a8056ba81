"""The committee tools' pages are valid HTML (the W3C checker, as tests/test_html_valid.py runs it): substitutes,
agendas in each state with their refusals, the minutes form with errors, the meeting pack, the hand-over form."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.committees import agendas, delegation
from app.db import utcnow
from app.org.models import Committee
from app.policies import Policies
from tests.conftest import actor_for, demo_user, login, post_form
from tests.proposals.factories import complete_content, submitted
from tests.test_html_valid import Pages, assert_valid


def test_committee_tool_pages_are_valid_html(
    client: TestClient, db: Session, policies: Policies, tmp_path: Path
) -> None:
    today = utcnow().date()
    first = submitted(db, policies)
    second = submitted(db, policies, content=complete_content(title="Data Stewardship Basics"))
    revised = submitted(db, policies, content=complete_content(title="Revised one"))
    chair = actor_for(db, "council1@example.org")
    council = db.exec(select(Committee).where(Committee.name == "Science Faculty Council")).one()
    delegation.name_substitute(
        db,
        actor_for(db, "council2@example.org"),
        member_id=demo_user(db, "council2@example.org").id or 0,
        substitute_id=demo_user(db, "historian@example.org").id or 0,
        starts_on=today,
        ends_on=today + timedelta(days=3),
    )
    draft = agendas.create(db, chair, policies, committee_id=council.id or 0, meets_on=today + timedelta(days=3))
    published = agendas.create(db, chair, policies, committee_id=council.id or 0, meets_on=today + timedelta(days=4))
    agendas.publish(db, published.id or 0, chair, policies)
    minuted = agendas.create(db, chair, policies, committee_id=council.id or 0, meets_on=today + timedelta(days=5))
    agendas.publish(db, minuted.id or 0, chair, policies)
    view = agendas.view(db, minuted.id or 0, chair)
    agendas.record_minutes(
        db,
        minuted.id or 0,
        chair,
        policies,
        {i.item.id or 0: agendas.Entry("none") for i in view.items},
    )
    _ = (first, second, revised)

    pages = Pages(client, tmp_path)
    for who in (
        "council1@example.org",
        "council2@example.org",
        "historian@example.org",
        "qa@example.org",
        "admin@example.org",
    ):
        login(client, who)
        for path in (
            "/delegations",
            "/agendas",
            f"/agendas/{draft.id}",
            f"/agendas/{published.id}",
            f"/agendas/{minuted.id}",
            f"/agendas/{draft.id}/pack",
            "/awaiting",
            f"/proposals/{first.id}",
        ):
            pages.get(who, path)
    login(client, "admin@example.org")
    pages.get("admin", f"/proposals/{first.id}/reassign")
    pages.save("admin invalid hand-over", post_form(client, f"/proposals/{first.id}/reassign", {"reason": ""}))
    pages.save("admin invalid substitute", post_form(client, "/delegations", {"substitute_id": "", "ends_on": "x"}))
    login(client, "council1@example.org")
    pages.save("chair invalid agenda", post_form(client, "/agendas", {"committee_id": council.id, "meets_on": ""}))
    pages.save("chair minutes with errors", post_form(client, f"/agendas/{published.id}/minutes", {}))

    assert_valid(pages, tmp_path)
