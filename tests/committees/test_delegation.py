"""Substitutes: during a member's leave the substitute sees and acts on the member's queue, casting the member's
ballot (never a second one); audit rows say "X for Y"; both are told; nothing holds outside the period. On both
databases, through the services, the pages and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.approvals import queries
from app.approvals.models import Vote
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.committees import delegation
from app.committees.models import Delegation
from app.db import utcnow
from app.errors import NotFound, PermissionDenied, PolicyViolation
from app.notifications.models import Notification, OutboxMessage
from app.policies import Policies
from tests.conftest import actor_for, api_headers, demo_user, login, post_form
from tests.proposals.factories import submitted, vote

MEMBER = "council2@example.org"  # Chris Council, Science faculty council
SUBSTITUTE = "historian@example.org"  # Harper Historian: on no committee
TODAY = utcnow().date()


def name(
    db: Session,
    *,
    member: str = MEMBER,
    substitute: str = SUBSTITUTE,
    start: int = 0,
    days: int = 14,
    by: str | None = None,
) -> Delegation:
    return delegation.name_substitute(
        db,
        actor_for(db, by or member),
        member_id=demo_user(db, member).id or 0,
        substitute_id=demo_user(db, substitute).id or 0,
        starts_on=TODAY + timedelta(days=start),
        ends_on=TODAY + timedelta(days=start + days),
        reason="research leave",
    )


def awaiting_ids(db: Session, email: str) -> list[int]:
    return [r.id for r in queries.awaiting(db, actor_for(db, email), offset=0, limit=50, now=utcnow())[0]]


def test_a_substitute_sees_the_members_queue_and_casts_the_members_ballot(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    assert proposal.id is not None and proposal.status == "faculty_council_review"
    assert awaiting_ids(db, SUBSTITUTE) == []
    with pytest.raises(NotFound):  # not even visible to them yet
        vote(db, policies, proposal, SUBSTITUTE, Choice.approve)

    name(db)
    sub = actor_for(db, SUBSTITUTE)
    [seat] = [m for m in sub.memberships if m.substitute_for]
    assert seat.committee_name == "Science Faculty Council" and seat.substitute_for_name == "Chris Council"
    assert "substitute for Chris Council, Science Faculty Council" in sub.role_labels
    assert not sub.in_qa_office
    assert awaiting_ids(db, SUBSTITUTE) == [proposal.id]

    vote(db, policies, proposal, SUBSTITUTE, Choice.approve)
    member_id = demo_user(db, MEMBER).id
    [ballot] = db.exec(select(Vote).where(Vote.proposal_id == proposal.id)).all()
    assert ballot.voter_id == member_id  # the absent member's ballot
    row = db.exec(select(AuditEvent).where(AuditEvent.entity_id == proposal.id, AuditEvent.action == "vote.cast")).one()
    assert row.actor_id == demo_user(db, SUBSTITUTE).id
    assert row.actor_role == "Harper Historian for Chris Council (faculty council)"
    assert row.data["for_member_id"] == member_id
    # Voted for the seat: off both queues; the member changing it changes the same ballot, not a second one.
    assert awaiting_ids(db, SUBSTITUTE) == [] and proposal.id not in awaiting_ids(db, MEMBER)
    vote(db, policies, proposal, MEMBER, Choice.request_changes, comment="Tighten outcome 2.")
    assert len(db.exec(select(Vote).where(Vote.proposal_id == proposal.id)).all()) == 1

    # The chair's vote makes the majority with the seat's (now changes requested): 1 approve of 2 is no majority.
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council3@example.org", Choice.approve)
    db.refresh(proposal)
    assert proposal.status == "lll_committee_review"


def test_outside_the_period_the_substitute_has_no_seat(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    made = name(db, start=1)  # from tomorrow
    assert not [m for m in actor_for(db, SUBSTITUTE).memberships if m.substitute_for]
    assert awaiting_ids(db, SUBSTITUTE) == []
    with pytest.raises(NotFound):
        vote(db, policies, proposal, SUBSTITUTE, Choice.approve)
    # Ended: no seat either.
    made.starts_on = TODAY
    db.add(made)
    db.flush()
    assert awaiting_ids(db, SUBSTITUTE) == [proposal.id]
    delegation.end_delegation(db, made.id or 0, actor_for(db, MEMBER))
    assert awaiting_ids(db, SUBSTITUTE) == []
    with pytest.raises(NotFound):
        vote(db, policies, proposal, SUBSTITUTE, Choice.approve)


def test_a_proposer_is_never_a_substitute_on_their_own_proposal(db: Session, policies: Policies) -> None:
    # The substitute proposed it: they may not vote as the member.
    proposal = submitted(db, policies, owner=SUBSTITUTE)
    name(db)
    assert proposal.id not in awaiting_ids(db, SUBSTITUTE)
    with pytest.raises(PermissionDenied, match="cannot vote on your own proposal"):
        vote(db, policies, proposal, SUBSTITUTE, Choice.approve)


def test_the_seat_of_a_member_who_proposed_it_does_not_vote(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies, owner=MEMBER)
    name(db)
    assert proposal.id not in awaiting_ids(db, SUBSTITUTE)
    with pytest.raises(PermissionDenied, match="proposer of this proposal"):
        vote(db, policies, proposal, SUBSTITUTE, Choice.approve)


def test_refusals_when_naming(db: Session, policies: Policies) -> None:
    with pytest.raises(PolicyViolation, match="votes there already"):
        name(db, substitute="council3@example.org")  # a fellow member: two ballots
    with pytest.raises(PolicyViolation, match="end on or after"):
        name(db, days=-2)
    with pytest.raises(PolicyViolation, match="over already"):
        name(db, start=-10, days=3)
    with pytest.raises(PolicyViolation, match="someone else"):
        name(db, substitute=MEMBER)
    with pytest.raises(PolicyViolation, match="sits on no committee"):
        name(db, member="academic@example.org", substitute=SUBSTITUTE)
    with pytest.raises(PermissionDenied, match="for yourself only"):
        name(db, by="council1@example.org")
    name(db)
    with pytest.raises(PolicyViolation, match="for part of this period already"):
        name(db, substitute="academic@example.org", start=3)
    # An administrator may name one for anyone (a stuck member's queue moves to someone else).
    made = name(db, member="council3@example.org", substitute="academic@example.org", by="admin@example.org")
    row = db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "delegation", AuditEvent.entity_id == made.id)
    ).one()
    assert row.actor_role == "administrator" and row.comment.startswith("Alex Academic for Cameron Council")
    # Somebody else's arrangement is not there for a third person.
    with pytest.raises(NotFound):
        delegation.end_delegation(db, made.id or 0, actor_for(db, "council1@example.org"))


def test_member_and_substitute_are_told_through_the_outbox(db: Session, policies: Policies) -> None:
    made = name(db)
    told = db.exec(
        select(Notification.user_id).where(Notification.kind == "delegation.named", Notification.link == "/delegations")
    ).all()
    assert set(told) == {demo_user(db, MEMBER).id, demo_user(db, SUBSTITUTE).id} and len(told) == 2
    mails = db.exec(select(OutboxMessage.subject).where(OutboxMessage.kind == "delegation.named")).all()
    assert mails == ["Harper Historian stands in for Chris Council"] * 2
    delegation.end_delegation(db, made.id or 0, actor_for(db, SUBSTITUTE))
    assert len(db.exec(select(Notification).where(Notification.kind == "delegation.ended")).all()) == 2


def test_a_substitute_is_asked_for_the_members_decision(db: Session, policies: Policies) -> None:
    name(db)
    proposal = submitted(db, policies)
    asked = db.exec(
        select(Notification.subject).where(
            Notification.user_id == demo_user(db, SUBSTITUTE).id, Notification.kind == "proposal.awaiting_decision"
        )
    ).all()
    assert asked == [f"Your decision is awaited (for Chris Council): {proposal.title}"]


def test_pages_and_api(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, MEMBER)
    page = client.get("/delegations")
    assert page.status_code == 200 and "No substitutes named." in page.text
    bad = post_form(
        client,
        "/delegations",
        {
            "substitute_id": demo_user(db, "council1@example.org").id,
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
        },
    )
    assert bad.status_code == 422 and "votes there already" in bad.text
    missing = post_form(client, "/delegations", {"substitute_id": "", "starts_on": TODAY.isoformat(), "ends_on": ""})
    assert missing.status_code == 422 and 'id="e-substitute_id">This field is required.' in missing.text
    ok = post_form(
        client,
        "/delegations",
        {
            "substitute_id": demo_user(db, SUBSTITUTE).id,
            "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + timedelta(days=3)).isoformat(),
        },
        follow_redirects=True,
    )
    assert ok.status_code == 200 and "Harper Historian stands in for Chris Council." in ok.text
    assert "In force" in ok.text
    assert "as their substitute" not in client.get(f"/proposals/{proposal.id}").text  # the member votes as themself

    login(client, SUBSTITUTE)
    awaiting = client.get("/awaiting")
    assert f"/proposals/{proposal.id}" in awaiting.text
    # The vote form says whose ballot the substitute casts; the member's own form does not.
    assert "cast for Chris Council as their substitute" in client.get(f"/proposals/{proposal.id}").text
    api = client.get("/api/v1/delegations", headers=api_headers(client)).json()
    assert [(d["member_name"], d["current"]) for d in api] == [("Chris Council", True)]
    voted = client.post(
        f"/api/v1/proposals/{proposal.id}/votes", json={"choice": "approve"}, headers=api_headers(client)
    )
    assert voted.status_code == 200, voted.text
    ended = client.delete(f"/api/v1/delegations/{api[0]['id']}", headers=api_headers(client))
    assert ended.status_code == 200 and ended.json()["revoked_at"] is not None
    refused = client.post(
        "/api/v1/delegations",
        headers=api_headers(client),
        json={
            "substitute_id": demo_user(db, "academic@example.org").id,
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
        },
    )
    assert refused.status_code == 422 and "sits on no committee" in refused.json()["detail"]
    assert client.get("/api/v1/delegations/999999", headers=api_headers(client)).status_code == 404


def test_a_substitute_for_two_members_of_one_committee_has_one_seat(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    name(db)
    name(db, member="council3@example.org")
    seats = [m for m in actor_for(db, SUBSTITUTE).memberships if m.substitute_for]
    assert len(seats) == 1
    vote(db, policies, proposal, SUBSTITUTE, Choice.approve)
    assert len(db.exec(select(Vote).where(Vote.proposal_id == proposal.id)).all()) == 1
    assert awaiting_ids(db, SUBSTITUTE) == []
