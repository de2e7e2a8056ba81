"""An administrator hands a stuck stage to another committee, with a reason, through the workflow core: audited,
the new committee asked, the stage, round and due date kept. On both databases; page and API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.approvals import queries
from app.approvals import service as approvals
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.db import utcnow
from app.errors import PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.notifications.models import Notification
from app.org.models import Committee
from app.policies import Policies
from tests.conftest import actor_for, api_headers, login, post_form
from tests.proposals.factories import new_proposal, submitted, vote

ADMIN = "admin@example.org"


def committee_id(db: Session, name: str) -> int:
    return db.exec(select(Committee.id).where(Committee.name == name)).one() or 0


def test_an_administrator_hands_a_stuck_stage_to_another_committee(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    round_, due = proposal.review_round, proposal.stage_due_at
    humanities = committee_id(db, "Humanities Faculty Council")
    approvals.reassign(
        db, proposal.id or 0, actor_for(db, ADMIN), policies, committee_id=humanities, reason="Council on strike."
    )
    db.refresh(proposal)
    assert proposal.status == "faculty_council_review" and proposal.deciding_committee_id == humanities
    assert (proposal.review_round, proposal.stage_due_at) == (round_, due)
    row = db.exec(select(AuditEvent).where(AuditEvent.entity_id == proposal.id, AuditEvent.action == "reassign")).one()
    assert (row.actor_role, row.comment, row.data["to_committee_id"]) == (
        "administrator",
        "Council on strike.",
        humanities,
    )
    hana = actor_for(db, "humanities@example.org")
    assert proposal.id in [r.id for r in queries.awaiting(db, hana, offset=0, limit=50, now=utcnow())[0]]
    assert db.exec(
        select(Notification).where(Notification.user_id == hana.id, Notification.kind == "proposal.awaiting_decision")
    ).first()
    # The science council's vote no longer counts; Humanities' one member decides.
    with pytest.raises(PermissionDenied):
        vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "humanities@example.org", Choice.approve)
    db.refresh(proposal)
    assert proposal.status == "lll_committee_review" and proposal.deciding_committee_id is None


def test_refusals(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    admin = actor_for(db, ADMIN)
    lll = committee_id(db, "Lifelong-Learning Committee")
    with pytest.raises(PermissionDenied, match="Only an administrator"):
        approvals.reassign(
            db, proposal.id or 0, actor_for(db, "qa@example.org"), policies, committee_id=lll, reason="x"
        )
    with pytest.raises(PolicyViolation, match="Say why"):
        approvals.reassign(db, proposal.id or 0, admin, policies, committee_id=lll, reason=" ")
    with pytest.raises(PolicyViolation, match="decides this stage already"):
        approvals.reassign(
            db, proposal.id or 0, admin, policies, committee_id=committee_id(db, "Science Faculty Council"), reason="x"
        )
    draft = new_proposal(db, policies)
    with pytest.raises(TransitionNotAllowed):
        approvals.reassign(db, draft.id or 0, admin, policies, committee_id=lll, reason="x")
    # Humanities' only member proposed it: nobody there may vote on it.
    theirs = submitted(db, policies, owner="humanities@example.org")
    with pytest.raises(PolicyViolation, match="Nobody in Humanities Faculty Council may vote"):
        approvals.reassign(
            db, theirs.id or 0, admin, policies, committee_id=committee_id(db, "Humanities Faculty Council"), reason="x"
        )


def test_page_and_api(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    login(client, ADMIN)
    assert "Hand this stage to another committee" in client.get(f"/proposals/{proposal.id}").text
    form = client.get(f"/proposals/{proposal.id}/reassign")
    assert form.status_code == 200 and "Science Faculty Council decides this stage now." in form.text
    missing = post_form(client, f"/proposals/{proposal.id}/reassign", {"committee_id": "", "reason": ""})
    assert missing.status_code == 422 and 'id="e-reason">This field is required.' in missing.text
    lll = committee_id(db, "Lifelong-Learning Committee")
    done = post_form(
        client,
        f"/proposals/{proposal.id}/reassign",
        {"committee_id": lll, "reason": "Quorum impossible."},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "The stage is handed to the committee you chose." in done.text
    back = client.post(
        f"/api/v1/proposals/{proposal.id}/reassign",
        json={"committee_id": committee_id(db, "Science Faculty Council"), "reason": "Back to normal."},
        headers=api_headers(client),
    )
    assert back.status_code == 200, back.text
    db.refresh(proposal)
    assert proposal.deciding_committee_id is None
    actions = db.exec(
        select(AuditEvent.action).where(AuditEvent.entity_id == proposal.id).order_by(col(AuditEvent.id))
    ).all()
    assert actions.count("reassign") == 2
    login(client, "council1@example.org")
    assert "Hand this stage" not in client.get(f"/proposals/{proposal.id}").text
    assert client.get(f"/proposals/{proposal.id}/reassign").status_code == 403
