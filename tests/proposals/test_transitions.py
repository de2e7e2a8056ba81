"""Every (state, action, actor role) combination: allowed, or refused with the right error.

States are set up directly (with the audit row the flush guard requires); each action is then attempted through
the service as each kind of actor. Someone who may not see the proposal gets a 404 (NotFound); a refusal for a
state that does not allow the action at all is a 409 (TransitionNotAllowed); an action possible in that state
but not for that actor is a 403 (PermissionDenied).
final_body_review is left out: the shipped policy routes no kind through a final body.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session

from app.approvals import access
from app.approvals import service as approvals
from app.approvals.policy import ApprovalPolicy
from app.approvals.voting import Choice
from app.audit import service as audit
from app.errors import DomainError, NotFound, PermissionDenied, TransitionNotAllowed
from app.policies import Policies
from app.proposals import service
from app.proposals.models import Proposal
from app.security import Actor
from app.workflows import core
from app.workflows.approval import BODY_OF_REVIEW_STATE
from tests.conftest import actor_for
from tests.proposals.factories import allowing_route_members, new_proposal

STATES = [
    "draft",
    "submitted",
    "faculty_council_review",
    "lll_committee_review",
    "qa_office_review",
    "changes_requested",
    "approved",
    "published",
    "rejected",
    "withdrawn",
]
ACTIONS = ["edit", "submit", "withdraw", "vote", "publish"]
REVIEWS = {"faculty_council_review", "lll_committee_review", "qa_office_review"}
BODY_MEMBER = {
    "faculty_council_review": "council1@example.org",
    "lll_committee_review": "lll1@example.org",
    "qa_office_review": "qa@example.org",
}


def role_emails(state: str) -> dict[str, str]:
    return {
        "proposer": "academic@example.org",
        "co_proposer": "council3@example.org",  # a council member too: still may not vote
        "body_member": BODY_MEMBER.get(state, "council1@example.org"),
        "other_member": "lll2@example.org" if state != "lll_committee_review" else "council2@example.org",
        "qa_officer": "qa@example.org",
        "admin": "admin@example.org",
        "outsider": "humanities@example.org",
    }


def expected(state: str, action: str, role: str) -> type[DomainError] | None:
    if role == "outsider":
        return NotFound  # someone who may not see the proposal learns nothing about it, not even its state
    possible = {
        "edit": state in {"draft", "changes_requested"},
        "submit": state in {"draft", "changes_requested"},
        "withdraw": state in {"draft", "submitted", "changes_requested", *REVIEWS},
        "vote": state in REVIEWS,
        "publish": state == "approved",
    }[action]
    if not possible:
        return TransitionNotAllowed
    if action == "vote" and role == "other_member" and state in {"lll_committee_review", "qa_office_review"}:
        return TransitionNotAllowed  # a member of a body that has already decided: a 409 saying so, not a 403
    allowed_roles = {
        "edit": {"proposer", "co_proposer"},
        "submit": {"proposer", "co_proposer"},
        "withdraw": {"proposer"},
        "vote": {"body_member"} | ({"qa_officer"} if state == "qa_office_review" else set()),
        "publish": {"qa_officer"} | ({"body_member"} if BODY_MEMBER.get(state) == "qa@example.org" else set()),
    }[action]
    return None if role in allowed_roles else PermissionDenied


def force_state(db: Session, policies: Policies, proposal: Proposal, state: str) -> None:
    proposal.route = [b.value for b in policies.of(ApprovalPolicy).routes["standalone"]]
    if state != "draft":
        proposal.submission_count = 1
    body = BODY_OF_REVIEW_STATE.get(state)
    proposal.current_body = body.value if body else None
    proposal.review_round = 1
    if state == "changes_requested":
        proposal.return_to_body = "faculty_council"
    if state != "draft":
        assert proposal.id is not None
        audit.record(
            db,
            actor_id=None,
            entity_type="proposal",
            entity_id=proposal.id,
            action="test.setup",
            from_state=proposal.status,
            to_state=state,
        )
        proposal.status = state
    db.add(proposal)
    db.flush()


def attempt(db: Session, policies: Policies, proposal: Proposal, action: str, actor: Actor) -> None:
    pid = proposal.id
    assert pid is not None
    run: dict[str, Callable[[], object]] = {
        "edit": lambda: service.update_proposal(db, pid, actor, policies, dict(proposal.content)),
        "submit": lambda: service.submit(db, pid, actor, policies),
        "withdraw": lambda: service.withdraw(db, pid, actor, policies),
        "vote": lambda: approvals.cast_vote(db, pid, actor, policies, choice=Choice.approve),
        "publish": lambda: approvals.publish_by(db, pid, actor, policies),
    }
    run[action]()


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_state_action_role_table(db: Session, policies: Policies, state: str, action: str) -> None:
    policies = allowing_route_members(policies)
    council3 = actor_for(db, "council3@example.org")
    proposal = new_proposal(db, policies, co_proposers=[council3.id])
    force_state(db, policies, proposal, state)
    outcomes: dict[str, str] = {}
    for role, email in role_emails(state).items():
        want = expected(state, action, role)
        nested = db.begin_nested()
        error: DomainError | None = None
        try:
            attempt(db, policies, proposal, action, actor_for(db, email))
        except DomainError as exc:
            error = exc
        finally:
            nested.rollback()
            db.refresh(proposal)
        if error is None:
            outcomes[role] = "allowed"
            assert want is None, f"{role} could {action} in {state}"
        else:
            outcomes[role] = type(error).__name__
            assert want is not None, f"{role} {action} in {state} refused: {error.message}"
            assert isinstance(error, want), f"{role} {action} in {state}: {error.message}"
            assert error.message
        assert proposal.status == state  # each attempt was rolled back
    # The buttons shown are exactly the actions allowed.
    for role, email in role_emails(state).items():
        shown = action in access.allowed_actions(access.load_ctx(db, proposal), actor_for(db, email))
        assert shown == (outcomes[role] == "allowed"), f"{role}: button for {action} in {state}"


@pytest.mark.parametrize("state", STATES)
def test_system_events_only_where_the_machine_allows(db: Session, policies: Policies, state: str) -> None:
    proposal = new_proposal(db, policies)
    force_state(db, policies, proposal, state)
    subject = access.subject(access.load_ctx(db, proposal))
    allowed = {
        "route": {"submitted"},
        "approve": REVIEWS,
        "request_changes": REVIEWS,
        "reject": REVIEWS,
        "publish": {"approved"},
    }
    for event, states in allowed.items():
        nested = db.begin_nested()
        try:
            core.fire(db, subject, event, core.SYSTEM, policies, comment="because")
        except TransitionNotAllowed:
            assert state not in states, f"{event} refused in {state}"
        else:
            assert state in states, f"{event} allowed in {state}"
        finally:
            nested.rollback()
            db.refresh(proposal)
