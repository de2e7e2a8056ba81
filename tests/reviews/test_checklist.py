"""A periodic review's QA assessment uses the review items of the ESG checklist: which items apply, who answers them
and when (the QA office during the assessment; the owner reads; nobody after the outcome), the automatic checks on
the current published edition, the gate on the outcome and the snapshot the outcome keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.catalogue.models import Credential, CredentialVersion
from app.checklists import service as checklists
from app.checklists.models import ChecklistResponse
from app.checklists.policy import ChecklistPolicy, Context
from app.errors import NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.policies import Policies
from app.reviews import service
from app.reviews.models import Review
from app.workflows.reviews import Outcome
from tests.conftest import actor_for
from tests.reviews.checklist_helpers import TODAY, answer, answer_mandatory, in_assessment, opened
from tests.reviews.helpers import owner_of, qa

ACTIONS = [service.ActionIn(text="Survey learners after each run", due_on=TODAY + timedelta(days=90))]


def _outcome(db: Session, policies: Policies, review: Review, outcome: Outcome, **kwargs: object) -> Review:
    data = service.OutcomeIn.model_validate({"outcome": outcome, "comment": "Assessed against ESG Part 1.", **kwargs})
    return service.record_outcome(db, review.id or 0, qa(db), policies, data, today=TODAY)


def test_the_review_items_apply_and_the_automatic_checks_read_the_published_edition(
    db: Session, policies: Policies
) -> None:
    review = in_assessment(db, policies)
    found = service.review_checklist(db, review, qa(db), policies)
    keys = [v.key for v in found.items]
    expected = [i.key for i in policies.of(ChecklistPolicy).items if Context.review in i.contexts]
    assert keys == expected
    assert {"learner-survey", "review-actions-closed", "ects-hours"} <= set(keys)
    assert "duplication" not in keys and "review-planned" not in keys  # approval only
    assert found.answered == 0 and found.can_answer_any
    hours = found.item("ects-hours")
    assert hours.auto is not None and hours.auto.status.value == "met"
    assert "140 hours for 5 ECTS" in hours.auto.reasons[0]  # the published edition's figures
    # A new edition with other hours: the check follows the current edition.
    owner = checklists.owner_for(db, review)
    assert isinstance(owner, checklists.ReviewOwner) and isinstance(owner.edition, CredentialVersion)
    edition = owner.edition
    assert edition.credential_id == review.credential_id
    edition.content = {**edition.content, "hours": 300}
    db.add(edition)
    db.flush()
    again = service.review_checklist(db, review, qa(db), policies).item("ects-hours")
    assert again.auto is not None and again.auto.status.value == "not_met"


def test_the_qa_office_answers_through_the_workflow_core(db: Session, policies: Policies) -> None:
    review = in_assessment(db, policies)
    view = answer(db, policies, review, "learner-survey", evidence_text="Survey run after both offerings.")
    row = view.response
    assert row is not None and (row.subject_type, row.subject_id, row.status) == ("review", review.id, "met")
    assert row.body == "review" and row.answered_by_id == qa(db).id
    assert row.item_snapshot["title"] == "An anonymous learner survey is run after every offering"
    answer(db, policies, review, "learner-survey", status="partly_met", comment="Only after the first run.")
    audits = sorted(db.exec(select(AuditEvent).where(AuditEvent.entity_id == row.id)), key=lambda a: a.id or 0)
    audits = [a for a in audits if a.entity_type == "checklist_answer"]
    assert [(a.from_state, a.to_state, a.actor_role) for a in audits] == [
        ("unanswered", "met", "QA office"),
        ("met", "partly_met", "QA office"),
    ]
    assert audits[0].data["review_id"] == review.id
    # Overriding an automatic check needs a reason, as on a proposal's checklist.
    with pytest.raises(PolicyViolation, match="say why you answer otherwise"):
        answer(db, policies, review, "ects-hours", status="not_met")
    # A review's item is answered by the outcome, not made a condition of approval.
    with pytest.raises(PolicyViolation, match="does not become a condition"):
        answer(
            db, policies, review, "learner-survey", status="not_met", condition_text="Run it", condition_due_on=TODAY
        )
    with pytest.raises(NotFound):
        answer(db, policies, review, "duplication")  # an approval-only item


def test_the_owner_reads_and_the_qa_office_answers_only_during_the_assessment(db: Session, policies: Policies) -> None:
    review = opened(db, policies)
    owner = owner_of(db, db.get_one(Credential, review.credential_id))
    given = checklists.Answer(status="met")
    with pytest.raises(TransitionNotAllowed, match="once the review is in QA assessment"):
        answer(db, policies, review, "learner-survey")
    listed = service.review_checklist(db, review, owner, policies)
    assert not listed.can_answer_any and isinstance(listed.items[0].refusal, PermissionDenied)
    review = in_assessment(db, policies, review)
    with pytest.raises(PermissionDenied, match="read-only"):
        checklists.answer(db, review.id or 0, "learner-survey", owner, policies, given, subject_type="review")
    with pytest.raises(NotFound):  # a committee member does not see the review at all
        checklists.answer(
            db,
            review.id or 0,
            "learner-survey",
            actor_for(db, "council1@example.org"),
            policies,
            given,
            subject_type="review",
        )
    answer(db, policies, review, "learner-survey")
    _outcome(db, policies, review, Outcome.continue_)
    with pytest.raises(TransitionNotAllowed, match="outcome of this review is recorded"):
        answer(db, policies, review, "learner-survey", status="not_met")
    assert not service.review_checklist(db, review, qa(db), policies).can_answer_any
    stored = db.exec(select(ChecklistResponse).where(ChecklistResponse.subject_id == review.id)).all()
    assert [r.status for r in stored if r.subject_type == "review"] == ["met"]


def test_no_outcome_while_a_mandatory_review_item_is_unanswered(db: Session, shipped_policies: Policies) -> None:
    policies = shipped_policies
    review = in_assessment(db, policies)
    owner = owner_of(db, db.get_one(Credential, review.credential_id))
    with pytest.raises(PermissionDenied):  # the owner is refused before the checklist is read for them
        service.record_outcome(
            db, review.id or 0, owner, policies, service.OutcomeIn(outcome=Outcome.continue_, comment="x"), today=TODAY
        )
    with pytest.raises(PolicyViolation) as refused:
        _outcome(db, policies, review, Outcome.continue_)
    message = refused.value.message
    assert message.startswith("The outcome cannot be recorded yet: these mandatory items of the review checklist")
    assert "1.9 Actions from the last review are tracked to closure" in message
    assert "1.7 An anonymous learner survey" not in message  # not mandatory
    assert refused.value.errors == {"outcome": "Complete the checklist first."}
    assert db.get_one(Review, review.id).status == "in_assessment"
    keys = answer_mandatory(db, policies, review)
    mandatory = [i.key for i in policies.of(ChecklistPolicy).items if Context.review in i.contexts and i.mandatory]
    assert keys == mandatory
    closed = _outcome(db, policies, review, Outcome.continue_)
    assert closed.status == "closed"


def test_an_item_not_met_needs_an_outcome_other_than_plain_continue(db: Session, shipped_policies: Policies) -> None:
    policies = shipped_policies
    review = in_assessment(db, policies)
    answer_mandatory(db, policies, review)
    answer(db, policies, review, "learner-survey", status="not_met", comment="No survey was run.")
    gate = checklists.review_gate(db, review, policies)
    assert [i.key for i in gate.not_met] == ["learner-survey"] and not gate.blocks  # no outcome chosen yet
    with pytest.raises(PolicyViolation) as refused:
        _outcome(db, policies, review, Outcome.continue_)
    assert (
        "these items are not met, so the outcome must be continue with actions, revise, suspend or retire: "
        "1.7 An anonymous learner survey is run after every offering" in refused.value.message
    )
    closed = _outcome(db, policies, review, Outcome.continue_with_actions, actions=ACTIONS)
    assert closed.outcome == "continue_with_actions"
    snapshot = closed.checklist
    assert snapshot is not None
    assert [row["key"] for row in snapshot] == [
        v.key for v in service.review_checklist(db, review, qa(db), policies).items
    ]
    survey = next(row for row in snapshot if row["key"] == "learner-survey")
    assert (survey["status"], survey["comment"], survey["answered_by_id"]) == (
        "not_met",
        "No survey was run.",
        qa(db).id,
    )
    assert next(row for row in snapshot if row["key"] == "appeals-route")["status"] == "unanswered"
    # The snapshot keeps the checklist as it stood: answers written later (around the rules) do not change it.
    row = db.exec(
        select(ChecklistResponse).where(
            ChecklistResponse.subject_type == "review", ChecklistResponse.item_key == "learner-survey"
        )
    ).one()
    row.comment = "Edited afterwards"
    db.add(row)
    db.flush()
    db.expire_all()
    assert next(r for r in db.get_one(Review, review.id).checklist or [] if r["key"] == "learner-survey")[
        "comment"
    ] == ("No survey was run.")


def test_the_outcomes_after_not_met_are_the_policys(db: Session, shipped_policies: Policies) -> None:
    checklist = shipped_policies.of(ChecklistPolicy)
    name = next(name for name, policy in shipped_policies.files.items() if policy is checklist)
    lenient = Policies(
        files={
            **shipped_policies.files,
            name: checklist.model_copy(update={"review_outcomes_after_not_met": list(Outcome)}),
        }
    )
    review = in_assessment(db, lenient)
    answer_mandatory(db, lenient, review)
    answer(db, lenient, review, "learner-survey", status="not_met", comment="No survey was run.")
    assert _outcome(db, lenient, review, Outcome.continue_).outcome == "continue"


def test_the_gate_is_off_with_the_policy_and_the_snapshot_is_kept_all_the_same(db: Session, policies: Policies) -> None:
    review = in_assessment(db, policies)
    gate = checklists.review_gate(db, review, policies, Outcome.continue_.value)
    assert gate.missing and not gate.enforced and not gate.blocks
    closed = _outcome(db, policies, review, Outcome.continue_)
    assert closed.checklist is not None and {row["status"] for row in closed.checklist} == {"unanswered"}
