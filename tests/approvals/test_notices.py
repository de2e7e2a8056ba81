"""Who hears what: each approval event notifies exactly the people it concerns, in the event's transaction."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select

from app.approvals import service as approvals
from app.approvals.voting import Choice
from app.errors import NotFound, PermissionDenied
from app.notifications.models import Notification, OutboxMessage
from app.policies import Policies
from app.proposals import service
from app.proposals.models import Proposal
from app.users.models import User
from tests.conftest import actor_for
from tests.proposals.factories import (
    allowing_route_members,
    approved_with_condition,
    new_proposal,
    resubmit,
    submitted,
    vote,
)


def told(db: Session, proposal: Proposal, kind: str) -> set[str]:
    """The e-mail addresses of everyone told about this proposal with this kind of notification."""
    about = re.compile(rf"^/proposals/{proposal.id}($|#)")
    rows = db.exec(
        select(User.email, Notification.link)
        .join(Notification, col(Notification.user_id) == User.id)
        .where(Notification.kind == kind)
    ).all()
    return {email for email, link in rows if about.match(link)}


def test_submission_tells_the_body_now_deciding_and_mails_them(db: Session, policies: Policies) -> None:
    policies = allowing_route_members(policies)
    council3 = actor_for(db, "council3@example.org")
    proposal = submitted(db, policies, co_proposers=[council3.id])
    # council3 is a co-proposer: not eligible, so not asked to decide.
    assert told(db, proposal, "proposal.awaiting_decision") == {"council1@example.org", "council2@example.org"}
    mails = db.exec(select(OutboxMessage).where(OutboxMessage.kind == "proposal.awaiting_decision")).all()
    mine = [m for m in mails if f"/proposals/{proposal.id}" in m.text_body]
    assert {m.to_address.split("<")[1].rstrip(">") for m in mine} == {"council1@example.org", "council2@example.org"}
    assert all(proposal.title in m.subject for m in mine)


def test_each_decision_tells_the_next_body_or_the_proposer(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    assert told(db, proposal, "proposal.awaiting_decision") >= {"lll1@example.org", "lll2@example.org"}
    vote(db, policies, proposal, "lll1@example.org", Choice.request_changes, comment="Name the employers.")
    vote(db, policies, proposal, "lll2@example.org", Choice.request_changes, comment="And the fee.")
    assert told(db, proposal, "proposal.changes_requested") == {"academic@example.org"}
    note = db.exec(select(Notification).where(Notification.kind == "proposal.changes_requested")).all()[-1]
    assert "Name the employers." in note.body and "lifelong-learning committee" in note.body

    assert proposal.id is not None
    resubmit(db, policies, proposal)
    vote(db, policies, proposal, "lll1@example.org", Choice.approve)
    vote(db, policies, proposal, "lll2@example.org", Choice.approve)
    assert "qa@example.org" in told(db, proposal, "proposal.awaiting_decision")
    vote(db, policies, proposal, "qa@example.org", Choice.approve)
    assert proposal.status == "published"
    assert told(db, proposal, "proposal.published") == {"academic@example.org"}


def test_a_rejection_tells_the_proposer_with_the_reason(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.reject, comment="Duplicates CS320.")
    vote(db, policies, proposal, "council2@example.org", Choice.reject, comment="Agreed.")
    assert told(db, proposal, "proposal.rejected") == {"academic@example.org"}


def test_conditions_tell_the_qa_office_and_then_the_proposer(db: Session, policies: Policies) -> None:
    proposal, condition = approved_with_condition(db, policies, "Publish the rubric")
    assert condition.id is not None
    academic, qa = actor_for(db, "academic@example.org"), actor_for(db, "qa@example.org")
    approvals.mark_condition_met(db, condition.id, academic, policies, "It is online.")
    assert told(db, proposal, "condition.reported_met") == {"qa@example.org"}
    with pytest.raises(PermissionDenied):
        approvals.send_back_condition(db, condition.id, academic, policies, "No.")
    approvals.send_back_condition(db, condition.id, qa, policies, "The link is broken.")
    assert condition.status == "open"
    assert told(db, proposal, "condition.sent_back") == {"academic@example.org"}
    approvals.mark_condition_met(db, condition.id, academic, policies, "Fixed link.")
    approvals.confirm_condition(db, condition.id, qa, policies)
    assert told(db, proposal, "condition.confirmed") == {"academic@example.org"}


def test_a_comment_tells_everyone_on_the_proposal_and_whoever_it_mentions(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    assert proposal.id is not None
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    service.add_comment(
        db,
        proposal.id,
        actor_for(db, "council2@example.org"),
        "Could @lll1@example.org check the employer letters? Also @humanities@example.org and @nobody@example.org.",
    )
    # On it: the proposer and the council (voters and members), not the author.
    assert told(db, proposal, "comment.added") == {
        "academic@example.org",
        "council1@example.org",
        "council3@example.org",
    }
    # lll1 sits on a body on the route, so may see it; the Humanities chair may not, so hears nothing.
    assert told(db, proposal, "comment.mention") == {"lll1@example.org"}


def test_nothing_is_told_when_the_event_is_refused(db: Session, policies: Policies) -> None:
    proposal = new_proposal(db, policies)
    assert proposal.id is not None
    before = len(db.exec(select(Notification)).all())
    with pytest.raises(NotFound):  # a draft is not theirs to see, let alone submit
        service.submit(db, proposal.id, actor_for(db, "council1@example.org"), policies)
    assert len(db.exec(select(Notification)).all()) == before
