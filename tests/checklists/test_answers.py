"""Answering the checklist: who may, what is recorded, what is refused; the gate on a body's approval; old answers
survive a changed policy."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from app.approvals.models import Condition, Decision
from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.checklists import service
from app.checklists.models import ChecklistResponse
from app.checklists.policy import ChecklistPolicy
from app.errors import NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.policies import Policies, load_policies
from app.settings import ROOT
from tests.checklists.helpers import QA, answer, answer_mandatory, at_qa_office
from tests.conftest import actor_for
from tests.proposals.factories import submitted, vote


def test_the_qa_office_answers_its_item_with_evidence_and_every_change_is_audited(
    db: Session, policies: Policies
) -> None:
    proposal = at_qa_office(db, policies)
    view = answer(
        db,
        policies,
        proposal,
        "qa-policy-scope",
        evidence_text="QA policy section 4 names micro-credentials.",
        evidence_links=["https://example.org/qa-policy"],
    )
    assert view.status == "met" and view.answered and not view.outdated
    row = view.response
    assert row.answered_by_id == actor_for(db, QA).id and row.answered_at is not None
    item = policies.of(ChecklistPolicy).item("qa-policy-scope")
    assert item is not None and row.item_version == item.version
    assert row.item_snapshot["title"] == item.title
    answer(db, policies, proposal, "qa-policy-scope", status="partly_met", comment="Partners are not covered yet.")
    audits = db.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "checklist_answer", AuditEvent.entity_id == row.id)
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(a.from_state, a.to_state, a.actor_role) for a in audits] == [
        ("unanswered", "met", "chair, QA office"),
        ("met", "partly_met", "chair, QA office"),
    ]
    assert audits[0].policy_version == policies.of(ChecklistPolicy).version


def test_the_same_answer_sent_twice_is_recorded_once(db: Session, policies: Policies) -> None:
    """A double click, or a form sent twice, gives one audit row; the same answer from another member, or with other
    evidence, is recorded."""
    proposal = submitted(db, policies)  # with the faculty council
    for _ in range(2):
        row = answer(
            db, policies, proposal, "owning-unit", "council1@example.org", evidence_text="Dean's letter"
        ).response
    answer(db, policies, proposal, "owning-unit", "council2@example.org", evidence_text="Dean's letter")
    answer(db, policies, proposal, "owning-unit", "council2@example.org", evidence_text="Dean's letter, signed")
    audits = db.exec(
        select(AuditEvent.actor_id, AuditEvent.from_state, AuditEvent.to_state)
        .where(AuditEvent.entity_type == "checklist_answer", AuditEvent.entity_id == row.id)
        .order_by(col(AuditEvent.id))
    ).all()
    first, second = actor_for(db, "council1@example.org").id, actor_for(db, "council2@example.org").id
    assert [tuple(a) for a in audits] == [
        (first, "unanswered", "met"),
        (second, "met", "met"),
        (second, "met", "met"),
    ]
    assert row.evidence_text == "Dean's letter, signed"


def test_only_the_deciding_body_answers_and_the_proposer_reads_only(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)  # with the faculty council
    with pytest.raises(PermissionDenied, match="read-only"):
        answer(db, policies, proposal, "owning-unit", "academic@example.org")
    with pytest.raises(PermissionDenied, match="Only members of the faculty council"):
        answer(db, policies, proposal, "owning-unit", "lll1@example.org")
    with pytest.raises(TransitionNotAllowed, match="QA office is not deciding"):
        answer(db, policies, proposal, "eu-elements", QA)
    assert answer(db, policies, proposal, "owning-unit", "council1@example.org").status == "met"
    with pytest.raises(NotFound):
        answer(db, policies, proposal, "learner-survey", "council1@example.org")  # a review item: not on it
    with pytest.raises(NotFound):
        answer(db, policies, proposal, "no-such-item", "council1@example.org")
    assert db.exec(select(ChecklistResponse).where(ChecklistResponse.item_key == "eu-elements")).first() is None


def test_bad_answers_are_refused_and_nothing_is_saved(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies)
    with pytest.raises(PolicyViolation, match="Choose met"):
        answer(db, policies, proposal, "qa-policy-scope", status="perhaps")
    with pytest.raises(PolicyViolation, match="reason is required") as refused:
        answer(db, policies, proposal, "qa-policy-scope", status="not_applicable")
    assert refused.value.errors == {"comment": "Required for not applicable."}
    with pytest.raises(PolicyViolation, match="automatic check concluded met"):
        answer(db, policies, proposal, "ects-hours", status="not_met")
    with pytest.raises(PolicyViolation, match="not a web address"):
        answer(db, policies, proposal, "qa-policy-scope", evidence_links=["ftp://x"])
    with pytest.raises(PolicyViolation, match="attached to this proposal"):
        answer(db, policies, proposal, "qa-policy-scope", attachment_ids=[999999])
    with pytest.raises(PolicyViolation, match="due date in the future"):
        answer(db, policies, proposal, "qa-policy-scope", status="not_met", condition_text="Fix it")
    with pytest.raises(PolicyViolation, match="at most 4,000"):
        answer(db, policies, proposal, "qa-policy-scope", comment="x" * 4001)
    rows = db.exec(select(ChecklistResponse).where(ChecklistResponse.subject_id == proposal.id)).all()
    assert all(r.status == "unanswered" for r in rows)
    # Overriding the automatic check with a reason is fine, and keeps what the check said.
    view = answer(db, policies, proposal, "ects-hours", status="not_met", comment="The hours ignore self-study.")
    assert view.response.automatic["status"] == "met"


def test_the_qa_office_cannot_approve_until_its_mandatory_items_are_answered(
    db: Session, policies: Policies, shipped_policies: Policies
) -> None:
    proposal = at_qa_office(db, policies)
    with pytest.raises(PolicyViolation) as refused:
        vote(db, shipped_policies, proposal, QA, Choice.approve)
    message = refused.value.message
    assert "The QA office cannot approve yet" in message
    assert "1.1 The QA policy puts micro-credentials in scope" in message
    assert "1.9 Monitoring after every offering" in message
    assert "Stacking" not in message  # not mandatory
    keys = answer_mandatory(db, shipped_policies, proposal, "qa_office")
    assert len(keys) == 7
    result = vote(db, shipped_policies, proposal, QA, Choice.approve)
    assert result.decision is not None and result.decision.outcome == "approve"
    snapshot = result.decision.checklist
    assert {row["key"] for row in snapshot if row["status"] == "met"} == set(keys)
    assert any(row["key"] == "stackability" and row["status"] == "unanswered" for row in snapshot)
    # Later answers do not change what the decision stored.
    stored = db.get(Decision, result.decision.id)
    assert stored is not None and stored.checklist == snapshot


def test_a_not_met_item_blocks_approval_unless_it_becomes_a_condition(
    db: Session, policies: Policies, shipped_policies: Policies
) -> None:
    proposal = at_qa_office(db, policies)
    answer_mandatory(db, shipped_policies, proposal, "qa_office")
    answer(db, shipped_policies, proposal, "qa-policy-scope", status="not_met", comment="Partners not covered.")
    with pytest.raises(PolicyViolation, match=r"not met and not made a condition of approval: 1\.1 The QA policy"):
        vote(db, shipped_policies, proposal, QA, Choice.approve)
    due = date.today() + timedelta(days=60)
    answer(
        db,
        shipped_policies,
        proposal,
        "qa-policy-scope",
        status="not_met",
        comment="Partners not covered.",
        condition_text="Extend the QA policy to partner-delivered provision",
        condition_due_on=due,
    )
    result = vote(db, shipped_policies, proposal, QA, Choice.approve)
    assert result.decision is not None and result.decision.outcome == "approve_with_conditions"
    condition = db.exec(select(Condition).where(Condition.decision_id == result.decision.id)).one()
    assert condition.text.startswith("ESG 1.1, The QA policy puts micro-credentials in scope")
    assert condition.text.endswith("Extend the QA policy to partner-delivered provision")
    assert condition.due_on == due


def test_the_gate_is_the_policys_to_switch_off(db: Session, policies: Policies) -> None:
    proposal = at_qa_office(db, policies)
    assert service.gate(db, proposal, "qa_office", policies).missing  # still listed, not enforced
    assert vote(db, policies, proposal, QA, Choice.approve).decision is not None


def test_a_changed_policy_leaves_old_answers_as_they_were(db: Session, policies: Policies, tmp_path: Path) -> None:
    proposal = at_qa_office(db, policies)
    answer(db, policies, proposal, "qa-policy-scope", comment="Section 4.")
    item = policies.of(ChecklistPolicy).item("qa-policy-scope")
    assert item is not None
    directory = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", directory)
    path = directory / "esg_part1.yaml"
    path.write_text(path.read_text().replace(item.title, "The QA policy covers micro-credentials (rewritten)"))
    changed = load_policies(directory)  # as a restart reads it
    row = db.exec(select(ChecklistResponse).where(ChecklistResponse.item_key == "qa-policy-scope")).one()
    before = (row.status, row.item_version, dict(row.item_snapshot), row.comment)
    view = service.checklist_of(db, proposal, actor_for(db, QA), changed).item("qa-policy-scope")
    assert view.title == item.title and view.outdated and view.status == "met"
    assert view.item.title == "The QA policy covers micro-credentials (rewritten)"
    db.refresh(row)
    assert (row.status, row.item_version, dict(row.item_snapshot), row.comment) == before
    unanswered = service.checklist_of(db, proposal, actor_for(db, QA), changed).item("eu-elements")
    assert not unanswered.outdated
