"""A body nobody in which may vote never leaves a proposal stuck: a substitute decides the stage (policy
``when_no_eligible_voter``) and the QA office is told; on submission, on every body reached, and whenever a
committee or its membership changes. On both databases."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.approvals import access, jobs, queries
from app.approvals.models import Decision
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.db import utcnow
from app.errors import PermissionDenied
from app.notifications.models import Notification
from app.org import service as org
from app.org.models import (
    Committee,
    CommitteeCreate,
    CommitteeKind,
    CommitteeMember,
    MemberSet,
    Module,
    OrgUnit,
    Programme,
)
from app.policies import Policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.users.models import User
from tests.conftest import actor_for, api_headers, login
from tests.proposals.factories import complete_content, policies_with, vote

BASE_URL = "https://mcqa.uni.example"
HUMANITIES = "humanities@example.org"  # the Humanities faculty council's only member, its chair


def committee(db: Session, name: str) -> Committee:
    return db.exec(select(Committee).where(Committee.name == name)).one()


def history_content(db: Session) -> dict[str, Any]:
    programme = db.exec(select(Programme).where(Programme.code == "BA-HIS")).one()
    module = db.exec(select(Module).where(Module.code == "HIS240")).one()
    return complete_content(
        title="Oral History in Practice", parent_programme_id=programme.id, parent_module_id=module.id
    )


def humanities_proposal(db: Session, policies: Policies, *, owner: str = HUMANITIES) -> Proposal:
    """An unbundled offer of the Faculty of Humanities, submitted: it goes to the Humanities faculty council."""
    hum = db.exec(select(OrgUnit).where(OrgUnit.code == "HUM")).one()
    proposal, _ = service.create_proposal(
        db, actor_for(db, owner), policies, kind=Kind.unbundled, values=history_content(db), org_unit_id=hum.id
    )
    assert proposal.id is not None
    return service.submit(db, proposal.id, actor_for(db, owner), policies)


def stage_events(db: Session, proposal: Proposal) -> list[tuple[str, str]]:
    rows = db.exec(
        select(AuditEvent.action, AuditEvent.comment)
        .where(AuditEvent.entity_type == "proposal", AuditEvent.entity_id == proposal.id)
        .where(col(AuditEvent.action).startswith("stage."))
        .order_by(col(AuditEvent.id))
    ).all()
    return [(a, c) for a, c in rows]


def report(db: Session) -> int:
    return jobs.report_no_eligible_voter(db, utcnow(), base_url=BASE_URL)


def told(db: Session, proposal: Proposal) -> Counter[str]:
    rows = db.exec(
        select(User.email, Notification.subject)
        .join(Notification, col(Notification.user_id) == User.id)
        .where(Notification.kind == "proposal.no_eligible_voter", Notification.link == f"/proposals/{proposal.id}")
    ).all()
    return Counter(email for email, _ in rows)


def test_a_council_whose_only_member_proposed_it_is_stood_in_for_by_the_qa_office(
    client: TestClient, db: Session, policies: Policies
) -> None:
    qa_office = committee(db, "QA Office")
    proposal = humanities_proposal(db, policies)
    assert proposal.status == "faculty_council_review"
    assert proposal.deciding_committee_id == qa_office.id
    ctx = access.load_ctx(db, proposal)
    assert ctx.taken_over and ctx.committee == qa_office
    assert ctx.eligible_ids == {actor_for(db, "qa@example.org").id}
    [(action, comment)] = stage_events(db, proposal)
    assert action == "stage.taken_over"
    assert comment == (
        "Nobody in Humanities Faculty Council may vote on this proposal (its only members are proposers of it): "
        "QA Office decides this stage instead."
    )
    with pytest.raises(PermissionDenied, match="cannot vote on your own proposal"):
        vote(db, policies, proposal, HUMANITIES, Choice.approve)

    # The QA office is told by the next sweep, once.
    assert report(db) == 1
    assert report(db) == 0
    assert told(db, proposal) == {"qa@example.org": 1}

    # Awaiting, the proposal page and the pipeline follow the committee that decides.
    qa = actor_for(db, "qa@example.org")
    assert proposal.id in [r.id for r in queries.awaiting(db, qa, offset=0, limit=50, now=utcnow())[0]]
    assert queries.awaiting_count(db, actor_for(db, HUMANITIES)) == 0
    login(client, "qa@example.org")
    page = client.get(f"/proposals/{proposal.id}").text
    assert "QA Office, instead of the faculty council: nobody in it may vote on this proposal" in page
    assert "Your vote for the QA Office (deciding for the faculty council)" in page
    assert "decided by QA Office" in client.get("/pipeline").text
    api = client.get(f"/api/v1/proposals/{proposal.id}", headers=api_headers(client)).json()
    assert api["deciding_committee_id"] == qa_office.id

    # The QA office decides the council's stage under its own rule; the next stage is its own.
    decision = vote(db, policies, proposal, "qa@example.org", Choice.approve).decision
    assert decision is not None
    assert (decision.body, decision.committee_id, decision.rule) == ("faculty_council", qa_office.id, "m_of_n")
    assert decision.tally["reason"].endswith("(QA Office, deciding for the faculty council)")
    assert proposal.status == "qa_office_review" and proposal.deciding_committee_id is None
    assert report(db) == 0  # the council's stage is over
    vote(db, policies, proposal, "qa@example.org", Choice.approve)
    assert proposal.status == "published"


def test_removing_the_last_member_who_may_vote_hands_waiting_proposals_to_the_substitute(
    client: TestClient, db: Session, policies: Policies
) -> None:
    council = committee(db, "Humanities Faculty Council")
    proposal = humanities_proposal(db, policies, owner="historian@example.org")
    assert proposal.deciding_committee_id is None  # Hana Humanities may vote on it
    assert queries.awaiting_count(db, actor_for(db, HUMANITIES)) == 1

    login(client, "admin@example.org")
    removed = client.delete(
        f"/api/v1/committees/{council.id}/members/{actor_for(db, HUMANITIES).id}", headers=api_headers(client)
    )
    assert removed.status_code == 200, removed.text
    db.refresh(proposal)
    assert proposal.deciding_committee_id == committee(db, "QA Office").id
    assert stage_events(db, proposal)[-1][1].startswith(
        "Nobody in Humanities Faculty Council may vote on this proposal (it has no members)"
    )
    assert report(db) == 1
    assert told(db, proposal) == {"qa@example.org": 1}

    # Giving the council a member back breaks nothing: the takeover holds until the stage ends.
    org.set_member(
        db, council, MemberSet(user_id=actor_for(db, HUMANITIES).id, is_chair=True), by=None, policies=policies
    )
    db.refresh(proposal)
    assert proposal.deciding_committee_id == committee(db, "QA Office").id
    assert [a for a, _ in stage_events(db, proposal)] == ["stage.taken_over"]
    assert queries.awaiting_count(db, actor_for(db, HUMANITIES)) == 0
    assert report(db) == 0
    vote(db, policies, proposal, "qa@example.org", Choice.approve)
    assert proposal.status == "qa_office_review"


def test_a_substitute_that_can_no_longer_decide_hands_the_stage_back(db: Session, policies: Policies) -> None:
    council, qa_office = committee(db, "Humanities Faculty Council"), committee(db, "QA Office")
    proposal = humanities_proposal(db, policies)
    assert proposal.deciding_committee_id == qa_office.id
    newcomer = actor_for(db, "council2@example.org")
    org.set_member(db, council, MemberSet(user_id=newcomer.id), by=None, policies=policies)
    db.refresh(proposal)
    assert proposal.deciding_committee_id == qa_office.id  # the QA office still can: it keeps the stage
    qa = actor_for(db, "qa@example.org")
    org.remove_member(db, qa_office, qa.id, by=actor_for(db, "admin@example.org"), policies=policies)
    db.refresh(proposal)
    assert proposal.deciding_committee_id is None
    assert stage_events(db, proposal)[-1] == (
        "stage.handed_back",
        "QA Office can no longer decide; Humanities Faculty Council, with a member who may vote again, decides "
        "this stage.",
    )
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    assert proposal.status == "qa_office_review"


def test_when_no_body_can_decide_the_proposal_waits_until_one_can(db: Session, tmp_path: Path) -> None:
    # ... and no final body is set up.
    policies = policies_with(
        tmp_path, ("when_no_eligible_voter: [qa_office, final_body]", "when_no_eligible_voter: [final_body]")
    )
    proposal = humanities_proposal(db, policies)
    assert proposal.status == "faculty_council_review" and proposal.deciding_committee_id is None
    [(action, comment)] = stage_events(db, proposal)
    assert action == "stage.no_eligible_voter"
    assert comment.endswith("nor in any body that may stand in (final_body): an administrator must add a member.")
    assert report(db) == 1
    subjects = db.exec(select(Notification.subject).where(Notification.kind == "proposal.no_eligible_voter")).all()
    assert subjects == ["Nobody can decide: Oral History in Practice"]

    admin = actor_for(db, "admin@example.org")
    senate = org.create_committee(
        db, CommitteeCreate(name="Senate", kind=CommitteeKind.final_body), by=admin, policies=policies
    )
    db.refresh(proposal)
    assert proposal.deciding_committee_id is None  # a body without members cannot decide either
    assert len(stage_events(db, proposal)) == 1  # ... and nothing new was said about it
    org.set_member(db, senate, MemberSet(user_id=admin.id, is_chair=True), by=admin, policies=policies)
    db.refresh(proposal)
    assert proposal.deciding_committee_id == senate.id
    assert stage_events(db, proposal)[-1][0] == "stage.taken_over"
    decision = vote(db, policies, proposal, "admin@example.org", Choice.approve).decision
    assert decision is not None and decision.rule == "chair" and decision.committee_id == senate.id
    assert proposal.status == "qa_office_review"


def test_a_member_leaving_can_complete_the_rule(db: Session, tmp_path: Path) -> None:
    policies = policies_with(
        tmp_path,
        ("faculty_council: {rule: majority, quorum: 0.51, tie_break: chair}", "faculty_council: {rule: unanimous}"),
    )
    proposal = humanities_proposal(db, policies, owner="historian@example.org")
    science = db.exec(select(OrgUnit).where(OrgUnit.code == "SCI")).one()
    proposal_sci, _ = service.create_proposal(
        db,
        actor_for(db, "academic@example.org"),
        policies,
        kind=Kind.standalone,
        values=complete_content(),
        org_unit_id=science.id,
    )
    assert proposal_sci.id is not None
    service.submit(db, proposal_sci.id, actor_for(db, "academic@example.org"), policies)
    vote(db, policies, proposal_sci, "council1@example.org", Choice.approve)
    vote(db, policies, proposal_sci, "council2@example.org", Choice.approve)
    assert proposal_sci.status == "faculty_council_review"  # unanimous: waits for the third member
    council = committee(db, "Science Faculty Council")
    org.remove_member(
        db, council, actor_for(db, "council3@example.org").id, by=actor_for(db, "admin@example.org"), policies=policies
    )
    db.refresh(proposal_sci)
    assert proposal_sci.status == "lll_committee_review"
    decision = db.exec(select(Decision).where(Decision.proposal_id == proposal_sci.id)).one()
    assert (decision.outcome, decision.tally["eligible"]) == ("approve", 2)
    db.refresh(proposal)
    assert proposal.status == "faculty_council_review"  # another faculty's council: untouched


def test_the_deadline_sweep_hands_over_a_stage_nobody_may_decide(db: Session, policies: Policies) -> None:
    """A proposal already waiting at a body that cannot decide (as left by an earlier release) is taken over
    before anyone is reminded."""
    proposal = humanities_proposal(db, policies, owner="historian@example.org")
    council = committee(db, "Humanities Faculty Council")
    # The member leaves behind the approvals' back (a direct delete, as an earlier release could have done).
    member = db.exec(select(CommitteeMember).where(CommitteeMember.committee_id == council.id)).one()
    db.delete(member)
    db.flush()
    assert proposal.stage_due_at is not None
    sent = jobs.remind_and_escalate(db, proposal.stage_due_at - timedelta(days=7), policies=policies, base_url=BASE_URL)
    assert sent == 1
    db.refresh(proposal)
    assert proposal.deciding_committee_id == committee(db, "QA Office").id
    reminded = db.exec(
        select(User.email)
        .join(Notification, col(Notification.user_id) == User.id)
        .where(Notification.kind == "proposal.reminder")
    ).all()
    assert reminded == ["qa@example.org"]
