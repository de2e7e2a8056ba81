"""The approval path end to end at the service level, with its audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.approvals import service as approvals
from app.approvals.models import Condition, Decision, Vote
from app.approvals.policy import ApprovalPolicy
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.catalogue.models import Credential, CredentialVersion
from app.errors import Conflict, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.org import service as org
from app.org.models import CommitteeCreate, CommitteeKind, MemberSet
from app.policies import Policies
from app.proposals import service
from app.proposals.elements import Kind
from app.proposals.models import Proposal, ProposalVersion
from tests.conftest import actor_for, api_headers, login, post_form
from tests.proposals.factories import (
    allowing_route_members,
    answers,
    complete_content,
    new_proposal,
    policies_with,
    submitted,
    vote,
)


def transitions(db: Session, proposal: Proposal) -> list[tuple[str | None, str | None, str]]:
    rows = db.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "proposal", AuditEvent.entity_id == proposal.id)
        .where(col(AuditEvent.from_state).is_not(None))
        .order_by(col(AuditEvent.id))
    )
    return [(r.from_state, r.to_state, r.action) for r in rows]


def test_standalone_goes_through_all_three_bodies_and_is_published(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    assert proposal.status == "faculty_council_review"
    assert proposal.route == ["faculty_council", "lll_committee", "qa_office"]

    first = vote(db, policies, proposal, "council1@example.org", Choice.approve)
    assert first.decision is None  # one vote of three: no quorum yet
    second = vote(db, policies, proposal, "council2@example.org", Choice.approve, comment="Well argued.")
    assert second.decision is not None
    assert second.decision.outcome == "approve"
    assert proposal.status == "lll_committee_review"

    vote(db, policies, proposal, "lll1@example.org", Choice.approve)
    vote(db, policies, proposal, "lll2@example.org", Choice.approve)
    assert proposal.status == "qa_office_review"
    vote(db, policies, proposal, "qa@example.org", Choice.approve)
    assert proposal.status == "published"

    credential = db.get(Credential, proposal.credential_id)
    assert credential is not None
    assert credential.current_version_no == 1
    assert credential.title == "Applied Data Analytics for Energy"
    assert transitions(db, proposal) == [
        ("draft", "submitted", "submit"),
        ("submitted", "faculty_council_review", "route"),
        ("faculty_council_review", "lll_committee_review", "approve"),
        ("lll_committee_review", "qa_office_review", "approve"),
        ("qa_office_review", "approved", "approve"),
        ("approved", "published", "publish"),
    ]
    audit = db.exec(
        select(AuditEvent).where(AuditEvent.entity_id == proposal.id, AuditEvent.action == "approve")
    ).first()
    assert audit is not None
    assert audit.policy_version == policies.of(ApprovalPolicy).version
    assert audit.actor_role == "Faculty council decision"
    assert "majority" in audit.data["reason"]


def test_unbundled_skips_the_lifelong_learning_committee(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council3@example.org", Choice.approve)
    assert proposal.status == "qa_office_review"


def test_request_changes_resubmit_returns_to_the_same_body(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    assert proposal.status == "lll_committee_review"
    with pytest.raises(PolicyViolation, match="comment is required"):
        vote(db, policies, proposal, "lll1@example.org", Choice.request_changes)
    vote(db, policies, proposal, "lll1@example.org", Choice.request_changes, comment="Name the employers.")
    vote(db, policies, proposal, "lll2@example.org", Choice.request_changes, comment="Add evidence.")
    assert proposal.status == "changes_requested"
    assert proposal.return_to_body == "lll_committee"

    academic = actor_for(db, "academic@example.org")
    assert proposal.id is not None
    service.update_proposal(db, proposal.id, academic, policies, dict(proposal.content, partners="GridCo, VoltNet"))
    service.submit(db, proposal.id, academic, policies, answers(db, proposal))
    assert proposal.status == "lll_committee_review"  # not back to the faculty council
    assert proposal.submission_count == 2
    versions = db.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)).all()
    assert [v.version_no for v in versions] == [1, 2]
    assert "partners" not in versions[0].content or versions[0].content["partners"] is None
    assert versions[1].content["partners"] == "GridCo, VoltNet"


def test_reject_is_final_and_needs_a_reason(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    with pytest.raises(PolicyViolation):
        vote(db, policies, proposal, "council1@example.org", Choice.reject, comment="  ")
    vote(
        db,
        policies,
        proposal,
        "council1@example.org",
        Choice.reject,
        comment="Duplicates an existing module.",
    )
    vote(db, policies, proposal, "council2@example.org", Choice.reject, comment="Agree.")
    assert proposal.status == "rejected"
    assert proposal.id is not None
    with pytest.raises(TransitionNotAllowed):
        service.withdraw(db, proposal.id, actor_for(db, "academic@example.org"), policies)


def test_members_may_change_their_vote_until_the_body_decides(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.reject, comment="Not convinced.")
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    assert proposal.status == "lll_committee_review"
    decision = db.exec(select(Decision).where(Decision.proposal_id == proposal.id)).one()
    assert decision.tally["approve"] == 2
    assert decision.tally["reject"] == 0


def test_split_vote_waits_for_the_third_member(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    assert vote(db, policies, proposal, "council2@example.org", Choice.reject, comment="No.").decision is None
    assert proposal.status == "faculty_council_review"
    vote(db, policies, proposal, "council3@example.org", Choice.approve)
    assert proposal.status == "lll_committee_review"


def test_proposer_never_votes_and_does_not_count_for_quorum(db: Session, policies: Policies) -> None:
    policies = allowing_route_members(policies)
    council2 = actor_for(db, "council2@example.org")
    proposal = submitted(db, policies, co_proposers=[council2.id])
    with pytest.raises(PermissionDenied, match="your own proposal"):
        vote(db, policies, proposal, "council2@example.org", Choice.approve)
    # Eligible: council1 and council3 only, so the quorum (more than half) is both of them.
    assert vote(db, policies, proposal, "council1@example.org", Choice.approve).decision is None
    result = vote(db, policies, proposal, "council3@example.org", Choice.approve)
    assert result.decision is not None
    assert result.decision.tally["eligible"] == 2


def test_approve_with_conditions_records_conditions(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    with pytest.raises(PolicyViolation, match="at least one condition"):
        vote(db, policies, proposal, "council1@example.org", Choice.approve_with_conditions)
    vote(
        db,
        policies,
        proposal,
        "council1@example.org",
        Choice.approve_with_conditions,
        conditions=[{"text": "Publish the grading scheme", "due_on": "2031-01-31"}],
    )
    result = vote(db, policies, proposal, "council2@example.org", Choice.approve)
    assert result.decision is not None
    assert result.decision.outcome == "approve_with_conditions"
    condition = db.exec(select(Condition).where(Condition.proposal_id == proposal.id)).one()
    assert condition.text == "Publish the grading scheme"
    assert condition.status == "open"

    with pytest.raises(PermissionDenied):
        approvals.mark_condition_met(db, condition.id or 0, actor_for(db, "council1@example.org"), policies, "done")
    approvals.mark_condition_met(
        db, condition.id or 0, actor_for(db, "academic@example.org"), policies, "Scheme is online."
    )
    with pytest.raises(PermissionDenied):
        approvals.confirm_condition(db, condition.id or 0, actor_for(db, "academic@example.org"), policies)
    approvals.confirm_condition(db, condition.id or 0, actor_for(db, "qa@example.org"), policies)
    assert condition.status == "confirmed"


def test_incomplete_proposal_is_refused_with_the_list_of_missing_elements(db: Session, policies: Policies) -> None:
    content = complete_content()
    del content["learning_outcomes"], content["target_group"]
    proposal = new_proposal(db, policies, content=content)
    assert proposal.id is not None
    with pytest.raises(PolicyViolation) as info:
        service.submit(db, proposal.id, actor_for(db, "academic@example.org"), policies)
    assert "Learning outcomes" in info.value.message
    assert "Target group" in info.value.message
    assert set(info.value.errors) == {"learning_outcomes", "target_group"}
    assert proposal.status == "draft"


def test_invalid_values_are_refused_and_nothing_is_saved(db: Session, policies: Policies) -> None:
    proposal = new_proposal(db, policies)
    assert proposal.id is not None
    before = dict(proposal.content)
    with pytest.raises(PolicyViolation) as info:
        service.update_proposal(
            db,
            proposal.id,
            actor_for(db, "academic@example.org"),
            policies,
            complete_content(ects=45, learning_outcomes=["Understand data"], title="New title"),
        )
    assert set(info.value.errors) == {"ects", "learning_outcomes"}
    db.refresh(proposal)
    assert proposal.content == before


def test_hours_must_match_ects(db: Session, policies: Policies) -> None:
    with pytest.raises(PolicyViolation) as info:
        new_proposal(db, policies, content=complete_content(ects=6, hours=60))
    assert "150-180 hours" in info.value.errors["hours"]


def test_withdraw_by_the_proposer_only(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    assert proposal.id is not None
    with pytest.raises(PermissionDenied):
        service.withdraw(db, proposal.id, actor_for(db, "council1@example.org"), policies)
    service.withdraw(db, proposal.id, actor_for(db, "academic@example.org"), policies, comment="Not this year.")
    assert proposal.status == "withdrawn"


def test_minor_revision_goes_to_the_qa_office_only_and_keeps_history(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    for email in ("council1@example.org", "council2@example.org", "qa@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    assert proposal.status == "published"
    academic = actor_for(db, "academic@example.org")
    revision = service.open_revision(db, proposal.credential_id, academic, policies)
    assert revision.revision_no == 2
    with pytest.raises(Exception, match="already open"):
        service.open_revision(db, proposal.credential_id, academic, policies)
    assert revision.id is not None
    content = dict(revision.content, further_information="Runs every spring.")
    service.update_proposal(db, revision.id, academic, policies, content)
    service.submit(db, revision.id, academic, policies)
    assert revision.change_type == "minor"
    assert revision.status == "qa_office_review"
    credential = db.get(Credential, proposal.credential_id)
    assert credential is not None and credential.current_version_no == 1  # old edition stays until approval
    vote(db, policies, revision, "qa@example.org", Choice.approve)
    db.refresh(credential)
    assert credential.current_version_no == 2
    versions = db.exec(
        select(CredentialVersion)
        .where(CredentialVersion.credential_id == credential.id)
        .order_by(col(CredentialVersion.version_no))
    ).all()
    assert versions[0].effective_to is not None
    assert versions[1].effective_to is None
    assert versions[1].changes == ["further_information"]


def test_major_revision_takes_the_full_route(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    for email in ("council1@example.org", "council2@example.org", "qa@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    academic = actor_for(db, "academic@example.org")
    revision = service.open_revision(db, proposal.credential_id, academic, policies)
    assert revision.id is not None
    service.update_proposal(db, revision.id, academic, policies, dict(revision.content, ects=5, hours=130))
    service.submit(db, revision.id, academic, policies)
    assert revision.change_type == "major"
    assert revision.status == "faculty_council_review"


def test_status_cannot_change_without_an_audit_row(db: Session, policies: Policies) -> None:
    proposal = new_proposal(db, policies)
    proposal.status = "published"
    db.add(proposal)
    with pytest.raises(RuntimeError, match="without an audit row"):
        db.flush()
    db.rollback()


def test_completeness_counts_only_valid_elements(db: Session, policies: Policies) -> None:
    check = service.check_values(db, complete_content(ects=45), policies, Kind.standalone)
    # The type of quality assurance is never missing: it comes from the external QA record (or its default).
    assert check.missing == ["awarding_bodies", "issuer_country"]
    assert check.invalid == ["ects"]
    valid = service.check_values(db, complete_content(ects=5, hours=130), policies, Kind.standalone)
    assert valid.completeness > check.completeness
    assert valid.invalid == []


def test_a_final_body_when_policy_asks_for_one(db: Session, tmp_path: Path) -> None:
    policies = policies_with(
        tmp_path,
        (
            "standalone: [faculty_council, lll_committee, qa_office]",
            "standalone: [faculty_council, lll_committee, qa_office, final_body]",
        ),
    )
    senate = org.create_committee(
        db, CommitteeCreate(name="Senate", kind=CommitteeKind.final_body), by=None, policies=policies
    )
    chair = actor_for(db, "admin@example.org")
    org.set_member(db, senate, MemberSet(user_id=chair.id, is_chair=True), by=None, policies=policies)
    humanities = MemberSet(user_id=actor_for(db, "humanities@example.org").id)
    org.set_member(db, senate, humanities, by=None, policies=policies)

    proposal = submitted(db, policies)
    for email in ("council1@example.org", "council2@example.org", "lll1@example.org", "lll2@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    vote(db, policies, proposal, "qa@example.org", Choice.approve)
    assert proposal.status == "final_body_review"
    # The senate decides by its chair: another member's vote does not decide.
    assert vote(db, policies, proposal, "humanities@example.org", Choice.reject, comment="No.").decision is None
    result = vote(db, policies, proposal, "admin@example.org", Choice.approve)
    assert result.decision is not None
    assert result.decision.rule == "chair"
    assert proposal.status == "published"


def _policies_with_council_rule(tmp_path: Path, rule: str) -> Policies:
    return policies_with(
        tmp_path, ("faculty_council: {rule: majority, quorum: 0.51, tie_break: chair}", f"faculty_council: {rule}")
    )


SPLIT = [
    ("council2@example.org", Choice.approve, ""),
    ("council3@example.org", Choice.reject, "Not at this level."),
    ("council1@example.org", Choice.request_changes, "Rework the outcomes."),  # the chair votes last
]


@pytest.mark.parametrize(
    "rule",
    ["{rule: chair}", "{rule: majority, quorum: 0.51}", "{rule: unanimous}", "{rule: m_of_n, m: 2}"],
)
def test_a_split_round_closes_under_every_rule(db: Session, tmp_path: Path, rule: str) -> None:
    """Three members, three different votes: once all have voted the body has decided, with a reason."""
    policies = _policies_with_council_rule(tmp_path, rule)
    proposal = submitted(db, policies)
    decision = None
    for email, choice, comment in SPLIT:
        decision = vote(db, policies, proposal, email, choice, comment=comment).decision or decision
    assert decision is not None, f"{rule}: the round is still open after every member voted"
    assert proposal.status == "changes_requested"
    assert decision.comment
    audit_row = db.exec(
        select(AuditEvent).where(
            AuditEvent.entity_type == "proposal",
            AuditEvent.entity_id == proposal.id,
            AuditEvent.action == "request_changes",
        )
    ).one()
    assert audit_row.comment == decision.comment


def test_a_unanimous_body_split_two_to_one_sends_back_with_its_own_reason(db: Session, tmp_path: Path) -> None:
    """approve, approve, reject under `unanimous`: nobody asked for changes, yet the round closes."""
    policies = _policies_with_council_rule(tmp_path, "{rule: unanimous}")
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    result = vote(db, policies, proposal, "council3@example.org", Choice.reject, comment="Too thin.")
    assert result.decision is not None
    assert result.decision.outcome == "request_changes"
    assert result.decision.comment == "No unanimity: sent back for changes."
    assert proposal.status == "changes_requested"


def test_the_same_vote_twice_changes_nothing_and_writes_one_audit_row(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    for _ in range(3):
        vote(db, policies, proposal, "council1@example.org", Choice.request_changes, comment="Name the employers.")
    vote(db, policies, proposal, "council1@example.org", Choice.request_changes, comment="Name the employers, please.")
    actions = db.exec(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "proposal",
            AuditEvent.entity_id == proposal.id,
            col(AuditEvent.action).startswith("vote."),
        )
    ).all()
    assert actions == ["vote.cast", "vote.changed"]
    db.expire_all()  # what was written, not what the session holds
    stored = db.exec(select(Vote).where(Vote.proposal_id == proposal.id)).one()
    assert (stored.choice, stored.comment) == ("request_changes", "Name the employers, please.")


def test_a_vote_after_the_body_has_decided_is_a_conflict_that_says_so(db: Session, policies: Policies) -> None:
    """Council members who did not vote in time: once the council has decided, their vote is a 409 saying so,
    not a 403 ("only members of the body deciding it now"), whether the proposal moved on or the round ended."""
    moved_on = submitted(db, policies)
    vote(db, policies, moved_on, "council1@example.org", Choice.approve)
    vote(db, policies, moved_on, "council2@example.org", Choice.approve)
    assert moved_on.status == "lll_committee_review"
    with pytest.raises(Conflict, match="The faculty council has already decided on this proposal") as info:
        vote(db, policies, moved_on, "council3@example.org", Choice.approve)
    assert info.value.status_code == 409
    assert "now with the lifelong-learning committee" in str(info.value).lower()
    # Someone who never was to decide it is still told it is not theirs to vote on.
    with pytest.raises(PermissionDenied):
        vote(db, policies, moved_on, "qa@example.org", Choice.approve)

    ended = submitted(db, policies)
    vote(db, policies, ended, "council1@example.org", Choice.reject, comment="Out of scope.")
    vote(db, policies, ended, "council2@example.org", Choice.reject, comment="Agreed.")
    assert ended.status == "rejected"
    with pytest.raises(Conflict, match="The faculty council has already decided on this proposal; it is rejected"):
        vote(db, policies, ended, "council3@example.org", Choice.approve)


def test_a_late_vote_over_http_is_a_409(client: TestClient, db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    vote(db, policies, proposal, "council1@example.org", Choice.approve)
    vote(db, policies, proposal, "council2@example.org", Choice.approve)
    login(client, "council3@example.org")
    api = client.post(f"/api/v1/proposals/{proposal.id}/votes", json={"choice": "approve"}, headers=api_headers(client))
    assert api.status_code == 409, api.text
    assert "has already decided" in api.json()["detail"]
    page = post_form(client, f"/proposals/{proposal.id}/votes", {"choice": "approve"})
    assert page.status_code == 409
    assert "has already decided" in page.text
