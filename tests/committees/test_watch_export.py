"""Watching a proposal (FYI notices on each step, no action) and the CSV exports of Awaiting and the pipeline
(the pages' own queries and filters). On both databases."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.approvals.voting import Choice
from app.committees import watching
from app.errors import NotFound
from app.notifications.models import Notification
from app.policies import Policies
from app.proposals import service
from tests.conftest import actor_for, api_headers, demo_user, login, post_form
from tests.proposals.factories import new_proposal, submitted, vote


def fyi(db: Session, email: str) -> list[str]:
    uid = demo_user(db, email).id
    rows = db.exec(
        select(Notification.subject).where(Notification.user_id == uid, Notification.kind == "proposal.watched")
    )
    return list(rows)


def test_watchers_hear_of_each_step_but_not_of_their_own(db: Session, policies: Policies) -> None:
    proposal = new_proposal(db, policies)
    assert proposal.id is not None
    watching.watch(db, proposal.id, actor_for(db, "qa@example.org"))
    watching.watch(db, proposal.id, actor_for(db, "qa@example.org"))  # twice is once
    watching.watch(db, proposal.id, actor_for(db, "academic@example.org"))
    service.submit(db, proposal.id, actor_for(db, "academic@example.org"), policies)
    title = proposal.title
    assert fyi(db, "qa@example.org") == [
        f"For your information: {title} is now submitted",
        f"For your information: {title} is now faculty council review",
    ]
    assert fyi(db, "academic@example.org") == [f"For your information: {title} is now faculty council review"]
    watching.unwatch(db, proposal.id, actor_for(db, "qa@example.org"))
    vote(db, policies, proposal, "council1@example.org", Choice.request_changes, comment="More detail.")
    vote(db, policies, proposal, "council2@example.org", Choice.request_changes, comment="Agreed.")
    assert len(fyi(db, "qa@example.org")) == 2
    assert fyi(db, "academic@example.org")[-1] == f"For your information: {title} is now changes requested"


def test_only_who_may_see_it_can_watch(db: Session, policies: Policies) -> None:
    proposal = new_proposal(db, policies)
    with pytest.raises(NotFound):
        watching.watch(db, proposal.id or 0, actor_for(db, "historian@example.org"))


def test_watch_button_and_api(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, "council3@example.org")
    page = client.get(f"/proposals/{proposal.id}")
    assert "Watch this proposal" in page.text
    done = post_form(client, f"/proposals/{proposal.id}/watch", follow_redirects=True)
    assert "Stop watching" in done.text and "You watch this proposal" in done.text
    h = api_headers(client)
    assert client.get(f"/api/v1/proposals/{proposal.id}/watch", headers=h).json()["watching"] is True
    assert client.delete(f"/api/v1/proposals/{proposal.id}/watch", headers=h).json()["watching"] is False
    assert client.put(f"/api/v1/proposals/{proposal.id}/watch", headers=h).json()["watching"] is True
    login(client, "historian@example.org")
    assert client.put(f"/api/v1/proposals/{proposal.id}/watch", headers=api_headers(client)).status_code == 404


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_awaiting_and_pipeline_export_csv_with_the_pages_filters(
    client: TestClient, db: Session, policies: Policies
) -> None:
    first = submitted(db, policies)
    draft = new_proposal(db, policies)
    login(client, "council2@example.org")
    response = client.get("/awaiting.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of(response.text)
    assert [int(r["id"]) for r in rows] == [first.id]
    assert rows[0]["status"] == "Faculty council review" and rows[0]["link"].endswith(f"/proposals/{first.id}")
    assert client.get("/pipeline.csv").status_code == 403  # the pipeline is the QA office's

    login(client, "qa@example.org")
    every = {int(r["id"]) for r in rows_of(client.get("/pipeline.csv").text)}
    assert {first.id, draft.id} <= every
    only_drafts = rows_of(client.get("/pipeline.csv?status=draft").text)
    assert draft.id in {int(r["id"]) for r in only_drafts} and all(r["status"] == "Draft" for r in only_drafts)
    by_title = rows_of(
        client.get("/api/v1/pipeline.csv", params={"q": "no such title"}, headers=api_headers(client)).text
    )
    assert by_title == []
    page = client.get("/pipeline?status=draft")
    assert 'href="/pipeline.csv?q=&amp;status=draft' in page.text
