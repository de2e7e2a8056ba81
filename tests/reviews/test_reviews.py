"""A review from its scheduling to its outcome: publication schedules it, the QA office may open one at any time
with a reason, the owner's self-evaluation gathers the figures with trends, and each outcome does what it says."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from app.approvals.voting import Choice
from app.audit.models import AuditEvent
from app.catalogue.models import Credential
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from app.notifications.models import Notification
from app.offerings import service as offerings
from app.offerings.models import Offering
from app.policies import Policies
from app.proposals import service as proposals
from app.proposals.elements import Kind
from app.proposals.models import Proposal
from app.reviews import service, standing
from app.reviews.models import Review, ReviewAction
from app.reviews.policy import ReviewPolicy, add_months
from app.security import load_actor
from app.workflows.reviews import Outcome
from tests.conftest import actor_for, make_user
from tests.proposals.factories import submitted, vote
from tests.reviews.helpers import SELF_EVALUATION, owner_of, published, qa

TODAY = date.today()


def _open_now(db: Session, policies: Policies, credential_id: int, kind: str = "full") -> Review:
    data = service.ReviewOpenIn(
        kind=kind, reason="Employers report the content is outdated.", due_on=TODAY + timedelta(days=30)
    )
    return service.qa_opens(db, credential_id, qa(db), policies, data, today=TODAY)


def _assessed(db: Session, policies: Policies, review: Review) -> Review:
    owner = owner_of(db, db.get_one(Credential, review.credential_id))
    service.submit(db, review.id or 0, owner, policies, SELF_EVALUATION)
    return service.start_assessment(db, review.id or 0, qa(db), policies)


def test_publication_through_the_approval_workflow_schedules_the_first_reviews(db: Session, policies: Policies) -> None:
    proposal = submitted(db, policies)
    for email in ("council1@example.org", "council2@example.org", "lll1@example.org", "lll2@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    vote(db, policies, proposal, "qa@example.org", Choice.approve)
    assert proposal.status == "published"

    reviews = db.exec(
        select(Review).where(Review.credential_id == proposal.credential_id).order_by(col(Review.due_on))
    ).all()
    published_on = proposal.decided_at.date() if proposal.decided_at else TODAY
    rules = policies.of(ReviewPolicy).of("standalone")
    assert [(r.kind, r.status, r.due_on) for r in reviews] == [
        ("monitoring", "scheduled", rules.monitoring_due(published_on)),
        ("full", "scheduled", rules.full_review_due(published_on)),
    ]
    assert reviews[0].opens_on == reviews[0].due_on - timedelta(days=30)
    assert standing.status_of(db, proposal.credential_id) == "active"


def test_the_qa_office_opens_a_review_at_any_time_with_a_reason(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=40))
    owner = owner_of(db, credential)
    data = service.ReviewOpenIn(kind="full", reason="Complaints from learners.", due_on=TODAY + timedelta(days=30))
    with pytest.raises(PermissionDenied):
        service.qa_opens(db, credential.id or 0, owner, policies, data, today=TODAY)

    review = _open_now(db, policies, credential.id or 0)
    assert (review.status, review.trigger, review.due_on) == ("open", "qa_office", TODAY + timedelta(days=30))
    assert standing.status_of(db, credential.id or 0) == "under_review"
    # It is the scheduled full review, brought forward: no second one waits in the schedule.
    assert db.exec(select(Review).where(Review.credential_id == credential.id, Review.kind == "full")).all() == [review]
    told = db.exec(
        select(Notification).where(Notification.user_id == owner.id, Notification.kind == "review.opened")
    ).all()
    assert told and "Employers report" in told[-1].body
    with pytest.raises(Conflict, match="already open"):
        _open_now(db, policies, credential.id or 0)
    audit = db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "review", AuditEvent.entity_id == review.id)
    ).one()
    assert (audit.action, audit.actor_role, audit.comment) == (
        "open",
        "QA office",
        "Employers report the content is outdated.",
    )


def test_the_self_evaluation_is_pre_filled_with_the_figures_since_the_last_review(
    db: Session, policies: Policies
) -> None:
    credential = published(db, policies, on=date(2026, 1, 15))
    cid, owner = credential.id or 0, owner_of(db, credential)
    for start, enrolled, completed in (
        (date(2026, 2, 1), 20, 16),
        (date(2026, 5, 1), 25, 15),
        (date(2026, 8, 1), 10, 9),
    ):
        run = offerings.add_offering(
            db,
            cid,
            owner,
            offerings.OfferingIn(starts_on=start, ends_on=start + timedelta(days=30), participation_form="online"),
        )
        figures = offerings.FiguresIn(
            enrolled=enrolled, completed=completed, passed=completed, dropped_out=enrolled - completed
        )
        offerings.record_figures(db, run.id or 0, owner, figures, today=TODAY)
    review = _open_now(db, policies, cid, kind="monitoring")

    rows = service.figures_since_last_review(db, review)
    assert [(r.enrolled, r.completed, r.trend) for r in rows] == [(20, 16, ""), (25, 15, "down"), (10, 9, "up")]
    assert rows[0].completion_rate == pytest.approx(0.8)
    saved = service.save_self_evaluation(db, review.id or 0, owner, SELF_EVALUATION)
    assert [f["enrolled"] for f in saved.figures] == [20, 25, 10]
    assert service.learner_feedback_summary(db, review, policies) == []  # no survey has closed

    stranger = load_actor(db, make_user(db))
    with pytest.raises(NotFound):
        service.save_self_evaluation(db, review.id or 0, stranger, SELF_EVALUATION)
    with pytest.raises(PermissionDenied):
        service.save_self_evaluation(db, review.id or 0, qa(db), SELF_EVALUATION)


def test_submitting_needs_a_narrative_and_a_dated_check_of_the_need(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=40))
    review = _open_now(db, policies, credential.id or 0)
    owner = owner_of(db, credential)
    with pytest.raises(PolicyViolation, match="narrative"):
        service.submit(db, review.id or 0, owner, policies, service.SelfEvaluationIn())
    with pytest.raises(PolicyViolation, match="evidence of need"):
        service.submit(db, review.id or 0, owner, policies, service.SelfEvaluationIn(narrative="Fine."))
    assert service.submit(db, review.id or 0, owner, policies, SELF_EVALUATION).status == "submitted"


def test_changes_requested_go_back_to_the_owner_with_a_reason(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=40))
    review = _assessed(db, policies, _open_now(db, policies, credential.id or 0))
    with pytest.raises(PolicyViolation, match="reason"):
        service.request_changes(db, review.id or 0, qa(db), policies, " ")
    assert service.request_changes(db, review.id or 0, qa(db), policies, "Add the pass rates.").status == "open"
    told = db.exec(select(Notification).where(Notification.kind == "review.changes_requested")).all()
    assert told[-1].user_id == credential.owner_id and "pass rates" in told[-1].body


def test_continue_with_actions_records_each_action_with_owner_and_due_date(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=40))
    review = _assessed(db, policies, _open_now(db, policies, credential.id or 0))
    with pytest.raises(PolicyViolation, match="at least one action"):
        service.record_outcome(
            db,
            review.id or 0,
            qa(db),
            policies,
            service.OutcomeIn(outcome=Outcome.continue_with_actions, comment="Ok"),
            today=TODAY,
        )
    outcome = service.OutcomeIn(
        outcome=Outcome.continue_with_actions,
        comment="Sound, but the assessment brief is dated.",
        actions=[service.ActionIn(text="Update the project brief", due_on=TODAY + timedelta(days=60))],
    )
    closed = service.record_outcome(db, review.id or 0, qa(db), policies, outcome, today=TODAY)
    assert (closed.status, closed.outcome, closed.closed_on) == ("closed", "continue_with_actions", TODAY)
    (action,) = db.exec(select(ReviewAction).where(ReviewAction.review_id == review.id)).all()
    assert (action.owner_id, action.due_on, action.done_at) == (credential.owner_id, TODAY + timedelta(days=60), None)
    assert standing.status_of(db, credential.id or 0) == "active"
    nxt = service.scheduled_review(db, credential.id or 0, "full")
    assert nxt is not None and nxt.due_on == add_months(TODAY, 36)  # from the close date
    with pytest.raises(TransitionNotAllowed):
        service.request_changes(db, review.id or 0, qa(db), policies, "Too late.")
    service.close_action(db, action.id or 0, owner_of(db, credential), "Brief rewritten with employers.")
    with pytest.raises(Conflict):
        service.close_action(db, action.id or 0, owner_of(db, credential), "Again.")


def test_revise_opens_a_revision_through_the_approval_workflow_linked_to_the_review(
    db: Session, policies: Policies
) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=40))
    review = _assessed(db, policies, _open_now(db, policies, credential.id or 0))
    outcome = service.OutcomeIn(outcome=Outcome.revise, comment="The outcomes no longer match the sector's needs.")
    closed = service.record_outcome(db, review.id or 0, qa(db), policies, outcome, today=TODAY)
    revision = db.get_one(Proposal, closed.revision_proposal_id)
    assert (revision.credential_id, revision.status, revision.owner_id) == (credential.id, "draft", credential.owner_id)


def test_suspend_stops_intake_and_retire_leaves_the_current_list(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=40))
    owner = owner_of(db, credential)
    review = _assessed(db, policies, _open_now(db, policies, credential.id or 0))
    service.record_outcome(
        db,
        review.id or 0,
        qa(db),
        policies,
        service.OutcomeIn(outcome=Outcome.suspend, comment="Low demand."),
        today=TODAY,
    )
    assert standing.status_of(db, credential.id or 0) == "suspended"
    run = offerings.OfferingIn(starts_on=TODAY, ends_on=TODAY + timedelta(days=9), participation_form="online")
    with pytest.raises(Conflict, match="suspended"):
        offerings.add_offering(db, credential.id or 0, owner, run)

    second = _assessed(db, policies, _open_now(db, policies, credential.id or 0, kind="monitoring"))
    service.record_outcome(
        db,
        second.id or 0,
        qa(db),
        policies,
        service.OutcomeIn(outcome=Outcome.retire, comment="No demand."),
        today=TODAY,
    )
    assert standing.status_of(db, credential.id or 0) == "retired"
    with pytest.raises(Conflict, match="retired"):
        offerings.add_offering(db, credential.id or 0, owner, run)
    assert service.scheduled_review(db, credential.id or 0, "monitoring") is None  # nothing more is scheduled
    assert db.exec(select(Offering).where(Offering.credential_id == credential.id)).all() == []


def test_only_the_qa_office_assesses_and_never_its_own_micro_credential(db: Session, policies: Policies) -> None:
    credential = published(db, policies, on=TODAY - timedelta(days=40))
    review = _open_now(db, policies, credential.id or 0)
    owner = owner_of(db, credential)
    service.submit(db, review.id or 0, owner, policies, SELF_EVALUATION)
    with pytest.raises(PermissionDenied):
        service.start_assessment(db, review.id or 0, owner, policies)
    with pytest.raises(TransitionNotAllowed):
        service.submit(db, review.id or 0, owner, policies)


def test_a_major_revision_published_opens_a_full_review_and_a_minor_one_does_not(
    db: Session, policies: Policies
) -> None:
    proposal = submitted(db, policies, kind=Kind.unbundled)
    for email in ("council1@example.org", "council2@example.org", "qa@example.org"):
        vote(db, policies, proposal, email, Choice.approve)
    academic = actor_for(db, "academic@example.org")
    cid = proposal.credential_id

    minor = proposals.open_revision(db, cid, academic, policies)
    proposals.update_proposal(db, minor.id or 0, academic, policies, dict(minor.content, further_information="Spring."))
    proposals.submit(db, minor.id or 0, academic, policies)
    vote(db, policies, minor, "qa@example.org", Choice.approve)
    assert minor.status == "published"
    assert db.exec(select(Review).where(Review.credential_id == cid, Review.status == "open")).all() == []

    major = proposals.open_revision(db, cid, academic, policies)
    proposals.update_proposal(db, major.id or 0, academic, policies, dict(major.content, ects=5, hours=130))
    proposals.submit(db, major.id or 0, academic, policies)
    for email in ("council1@example.org", "council2@example.org", "qa@example.org"):
        vote(db, policies, major, email, Choice.approve)
    assert major.status == "published"
    (opened,) = db.exec(select(Review).where(Review.credential_id == cid, Review.status == "open")).all()
    assert (opened.kind, opened.trigger, opened.reason) == (
        "full",
        "threshold",
        "Major revision published (revision 3).",
    )
    assert standing.status_of(db, cid) == "under_review"
