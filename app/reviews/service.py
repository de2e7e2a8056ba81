"""Periodic reviews: scheduling, opening, the owner's self-evaluation, the QA office's assessment and outcome, and
what an outcome does to the micro-credential (continue, actions, a revision, suspension, retirement).

Every status change goes through the workflow core (``core.run``/``core.fire`` with the lifecycles of
``app.reviews.access``). Scheduling is idempotent: each review's ``trigger_key`` names its slot, and it is
inserted with ``insert_once``, so publication, a closing review or two sweepers never schedule it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from app.catalogue.models import Credential
from app.checklists import service as checklists
from app.db import utcnow
from app.errors import Conflict, NotFound, PermissionDenied, PolicyViolation
from app.feedback import service as feedback
from app.feedback.service import FeedbackSummary
from app.offerings.models import Offering
from app.policies import Policies
from app.proposals import service as proposals
from app.reviews import access
from app.reviews.access import REVIEW, STANDING
from app.reviews.models import CredentialStanding, Review, ReviewAction, ReviewAlert
from app.reviews.policy import KindCadence, ReviewPolicy
from app.scheduler import insert_once
from app.security import Actor, load_actor
from app.users.models import User
from app.workflows import core
from app.workflows.core import SYSTEM
from app.workflows.reviews import Outcome, ReviewStatus, StandingStatus

KIND_LABELS = {"monitoring": "Monitoring report", "full": "Full review"}
OVERDUE_CONSEQUENCE = "overdue_consequence"  # the alert step that stops intake (app.reviews.jobs)
OPEN_STATES = frozenset({ReviewStatus.open.value, ReviewStatus.submitted.value, ReviewStatus.in_assessment.value})


def cadence(session: Session, policies: Policies, credential_id: int) -> KindCadence:
    credential = session.get_one(Credential, credential_id)
    return policies.of(ReviewPolicy).of(credential.kind)


# --- scheduling ----------------------------------------------------------------------------------


def ensure_standing(session: Session, credential_id: int) -> CredentialStanding:
    standing = session.get(CredentialStanding, credential_id)
    if standing is None:
        insert_once(session, CredentialStanding(id=credential_id))
        standing = session.get_one(CredentialStanding, credential_id)
    return standing


def schedule(
    session: Session, credential_id: int, kind: str, due_on: date, policies: Policies, *, trigger: str = "schedule"
) -> Review | None:
    """Schedule a review of this kind due on this day (opening ``lead_time_days`` before); None when that slot
    is scheduled already."""
    lead = cadence(session, policies, credential_id).lead_time_days
    review = Review(
        credential_id=credential_id,
        kind=kind,
        trigger=trigger,
        trigger_key=f"{trigger}:{credential_id}:{kind}:{due_on.isoformat()}",
        opens_on=due_on - timedelta(days=lead),
        due_on=due_on,
    )
    return review if insert_once(session, review) else None


def schedule_first_reviews(session: Session, credential_id: int, published_on: date, policies: Policies) -> None:
    """Publication schedules the first monitoring report and the first full review."""
    ensure_standing(session, credential_id)
    rules = cadence(session, policies, credential_id)
    schedule(session, credential_id, "monitoring", rules.monitoring_due(published_on), policies)
    schedule(session, credential_id, "full", rules.full_review_due(published_on), policies)


def schedule_next(session: Session, review: Review, policies: Policies) -> Review | None:
    """A closed review schedules the next of its kind from its close date (none once retired)."""
    assert review.closed_on is not None
    if ensure_standing(session, review.credential_id).status == StandingStatus.retired.value:
        return None
    rules = cadence(session, policies, review.credential_id)
    due = (
        rules.monitoring_due(review.closed_on)
        if review.kind == "monitoring"
        else rules.full_review_due(review.closed_on)
    )
    return schedule(session, review.credential_id, review.kind, due, policies)


def scheduled_review(session: Session, credential_id: int, kind: str) -> Review | None:
    return session.exec(
        select(Review)
        .where(Review.credential_id == credential_id, Review.kind == kind, Review.status == ReviewStatus.scheduled)
        .order_by(col(Review.due_on))
    ).first()


def bring_forward(session: Session, credential_id: int, due_on: date, policies: Policies) -> bool:
    """An offering has ended: its monitoring report is due ``days_after_offering`` later, if that comes before
    the one scheduled (a scheduled row changes no status, so this is a plain update)."""
    review = scheduled_review(session, credential_id, "monitoring")
    if review is None or review.due_on <= due_on:
        return False
    review.due_on = due_on
    review.opens_on = due_on - timedelta(days=cadence(session, policies, credential_id).lead_time_days)
    session.add(review)
    session.flush()
    return True


# --- opening -------------------------------------------------------------------------------------


def open_review(
    session: Session,
    review_id: int,
    actor: Actor | None,
    policies: Policies,
    *,
    comment: str = "",
    at: datetime | None = None,
) -> Review:
    """Open a scheduled review (the sweep at its ``now``, or the QA office); the micro-credential goes under
    review."""
    review = core.run(session, REVIEW, review_id, "open", actor, policies, comment=comment, at=at).row
    standing = ensure_standing(session, review.credential_id)
    if standing.status == StandingStatus.active.value:
        note = f"review {review_id} opened"
        core.run(session, STANDING, standing.id, "begin_review", SYSTEM, policies, comment=note, at=at)
    return review


class ReviewOpenIn(BaseModel):
    """The QA office opens a review now, with a reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str = Field(pattern="^(monitoring|full)$", title="Kind of review")
    reason: str = Field(min_length=1, max_length=2000, title="Reason")
    due_on: date = Field(title="Due date")


def qa_opens(
    session: Session, credential_id: int, actor: Actor, policies: Policies, data: ReviewOpenIn, *, today: date
) -> Review:
    """The QA office opens a review at any time: the scheduled one of that kind, brought forward, or a new one."""
    credential = session.get(Credential, credential_id)
    if credential is None or not credential.current_version_no:
        raise NotFound(f"There is no published micro-credential {credential_id}.")
    if not actor.in_qa_office:
        raise PermissionDenied("Only the QA office opens a review outside its schedule.")
    if data.due_on < today:
        raise PolicyViolation("The due date cannot be in the past.", errors={"due_on": "Choose a later date."})
    busy = session.exec(
        select(Review.id).where(
            Review.credential_id == credential_id, Review.kind == data.kind, col(Review.status).in_(OPEN_STATES)
        )
    ).first()
    if busy is not None:
        raise Conflict(f"A {KIND_LABELS[data.kind].lower()} is already open for this micro-credential (review {busy}).")
    ensure_standing(session, credential_id)
    review = scheduled_review(session, credential_id, data.kind)
    if review is None:
        review = schedule(session, credential_id, data.kind, data.due_on, policies, trigger="qa_office")
        if review is None:
            raise Conflict("A review of this kind is already scheduled for that day.")
    review.trigger, review.reason, review.due_on, review.opens_on = "qa_office", data.reason, data.due_on, today
    session.add(review)
    session.flush()
    return open_review(session, review.id or 0, actor, policies, comment=data.reason)


# --- the owner's self-evaluation -----------------------------------------------------------------


@dataclass(frozen=True)
class OfferingFigures:
    offering_id: int
    starts_on: date
    ends_on: date
    enrolled: int | None
    completed: int | None
    passed: int | None
    dropped_out: int | None
    completion_rate: float | None
    pass_rate: float | None
    trend: str  # "up", "down", "level" or "" (first, or no figures): completion rate against the offering before

    def as_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


def last_closed(session: Session, credential_id: int, *, before: Review | None = None) -> Review | None:
    stmt = select(Review).where(Review.credential_id == credential_id, Review.status == ReviewStatus.closed)
    if before is not None and before.id is not None:
        stmt = stmt.where(col(Review.id) != before.id)
    return session.exec(stmt.order_by(col(Review.closed_on).desc(), col(Review.id).desc())).first()


def figures_since_last_review(session: Session, review: Review) -> list[OfferingFigures]:
    """Every offering that has ended since the last review closed (since publication for the first), earliest
    first, with completion and pass rates and the trend against the offering before."""
    previous = last_closed(session, review.credential_id, before=review)
    stmt = select(Offering).where(
        Offering.credential_id == review.credential_id, col(Offering.ends_on) <= utcnow().date()
    )
    if previous is not None and previous.closed_on is not None:
        stmt = stmt.where(col(Offering.ends_on) > previous.closed_on)
    rows: list[OfferingFigures] = []
    before: float | None = None
    for o in session.exec(stmt.order_by(col(Offering.starts_on))):
        rate = o.completion_rate
        pass_rate = o.passed / o.enrolled if o.enrolled and o.passed is not None else None
        trend = ""
        if rate is not None and before is not None:
            trend = "up" if rate > before + 0.005 else "down" if rate < before - 0.005 else "level"
        rows.append(
            OfferingFigures(
                o.id or 0,
                o.starts_on,
                o.ends_on,
                o.enrolled,
                o.completed,
                o.passed,
                o.dropped_out,
                rate,
                pass_rate,
                trend,
            )
        )
        before = rate if rate is not None else before
    return rows


def learner_feedback_summary(session: Session, review: Review, policies: Policies) -> list[FeedbackSummary]:
    """What learners said about the offerings under review: every closed survey of an offering that ended since
    the last review closed (since publication for the first), with the owner's response and action plan."""
    previous = last_closed(session, review.credential_id, before=review)
    since = previous.closed_on if previous is not None and previous.closed_on is not None else date.min
    return feedback.summary_for_review(session, review.credential_id, since, policies)


def review_checklist(session: Session, review: Review, actor: Actor, policies: Policies) -> checklists.Checklist:
    """The ESG checklist's review items, which the QA office answers in this review's assessment (the owner reads
    them): each with its answer and the automatic check run on the current published edition."""
    return checklists.checklist_of(session, review, actor, policies)


class SelfEvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    narrative: str = Field(default="", max_length=8000, title="Narrative")
    need_evidence: str = Field(default="", max_length=4000, title="Evidence of need, re-checked")
    need_checked_on: date | None = Field(default=None, title="Date the evidence of need was checked")
    action_plan: str = Field(default="", max_length=4000, title="Action plan")


def get_review(session: Session, review_id: int, actor: Actor) -> Review:
    review = session.get(Review, review_id)
    if review is None or not access.may_see(session.get_one(Credential, review.credential_id), actor):
        raise NotFound(f"There is no review {review_id} that you can see.")
    return review


def save_self_evaluation(session: Session, review_id: int, actor: Actor, data: SelfEvaluationIn) -> Review:
    """The owner writes (and may rewrite) the self-evaluation while the review is open; the figures are taken
    from the offerings as they stand now."""
    subject = core.lock(session, REVIEW, review_id, actor)
    core.require(subject, "submit", actor)  # the same question as submitting: the owner, while it is open
    review = subject.row
    for name, value in data.model_dump().items():
        setattr(review, name, value)
    review.figures = [f.as_json() for f in figures_since_last_review(session, review)]
    session.add(review)
    session.flush()
    return review


def submit(
    session: Session, review_id: int, actor: Actor, policies: Policies, data: SelfEvaluationIn | None = None
) -> Review:
    if data is not None:
        save_self_evaluation(session, review_id, actor, data)
    return core.run(session, REVIEW, review_id, "submit", actor, policies).row


def start_assessment(session: Session, review_id: int, actor: Actor, policies: Policies) -> Review:
    return core.run(session, REVIEW, review_id, "start_assessment", actor, policies).row


def request_changes(session: Session, review_id: int, actor: Actor, policies: Policies, comment: str) -> Review:
    return core.run(session, REVIEW, review_id, "request_changes", actor, policies, comment=comment.strip()).row


# --- the outcome ---------------------------------------------------------------------------------


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=1000)
    owner_id: int | None = Field(
        default=None, description="Who carries it out; the micro-credential's owner by default"
    )
    due_on: date


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: Outcome
    comment: str = Field(min_length=1, max_length=8000, description="The reasons for the outcome")
    actions: list[ActionIn] = Field(default_factory=list, max_length=20)


def record_outcome(
    session: Session, review_id: int, actor: Actor, policies: Policies, data: OutcomeIn, *, today: date
) -> Review:
    """Close the review with its outcome, and do what the outcome means; the next review is scheduled from today.
    The review's ESG checklist must be complete (its mandatory items answered; after an item "not met", an outcome
    the policy allows), and the outcome keeps a snapshot of it."""
    if data.outcome is Outcome.continue_with_actions and not data.actions:
        raise PolicyViolation("Give at least one action, with its owner and due date.", errors={"actions": "Required."})
    if data.outcome is not Outcome.continue_with_actions and data.actions:
        raise PolicyViolation(
            "Actions go with the outcome “continue with actions”.", errors={"actions": "Remove them."}
        )
    subject = core.lock(session, REVIEW, review_id, actor)
    review = subject.row
    core.require(subject, "record_outcome", actor)  # who may, before the checklist is read for them
    checklists.require_review_gate(session, review, data.outcome.value, policies)
    review.checklist = checklists.snapshot(session, review, None, policies)
    for action in data.actions:
        if action.due_on <= today:
            raise PolicyViolation("An action's due date must be in the future.", errors={"actions": "Later date."})
        if action.owner_id is not None and session.get(User, action.owner_id) is None:
            raise PolicyViolation(f"There is no person {action.owner_id} to own an action.", errors={"actions": "?"})
    core.fire(
        session,
        subject,
        "record_outcome",
        actor,
        policies,
        comment=data.comment,
        outcome=data.outcome.value,
        closed_on=today,
        data={"outcome": data.outcome.value, "actions": len(data.actions)},
    )
    close_consequences(session, review, policies, data, actor)
    return review


def close_consequences(
    session: Session, review: Review, policies: Policies, data: OutcomeIn, actor: Actor | None
) -> None:
    """What closing a review does: intake reopens when it was stopped for this review being overdue, the
    micro-credential leaves "under review" once no review is open, the outcome takes effect, the next is scheduled."""
    standing = ensure_standing(session, review.credential_id)
    note = f"review {review.id}: {data.outcome.value}"
    still_open = session.exec(
        select(Review.id).where(Review.credential_id == review.credential_id, col(Review.status).in_(OPEN_STATES))
    ).first()
    other_overdue = session.exec(  # another review that stopped intake and is not closed keeps it stopped
        select(ReviewAlert.id)
        .join(Review, col(Review.id) == ReviewAlert.review_id)
        .where(
            Review.credential_id == review.credential_id,
            col(Review.id) != review.id,
            col(Review.status).in_(OPEN_STATES),
            ReviewAlert.step == OVERDUE_CONSEQUENCE,
        )
    ).first()
    if (
        standing.status == StandingStatus.suspended.value
        and standing.suspension_reason == "overdue"
        and not other_overdue
    ):
        core.run(session, STANDING, standing.id, "reinstate", SYSTEM, policies, comment=note)
        if still_open:
            core.run(session, STANDING, standing.id, "begin_review", SYSTEM, policies, comment=note)
    elif standing.status == StandingStatus.under_review.value and not still_open:
        core.run(session, STANDING, standing.id, "end_review", SYSTEM, policies, comment=note)
    credential = session.get_one(Credential, review.credential_id)
    if data.outcome is Outcome.suspend and standing.status != StandingStatus.suspended.value:
        core.run(session, STANDING, standing.id, "suspend", SYSTEM, policies, comment=note, reason="outcome")
    elif data.outcome is Outcome.retire:
        core.run(session, STANDING, standing.id, "retire", SYSTEM, policies, comment=note)
    elif data.outcome is Outcome.revise:
        owner = load_actor(session, session.get_one(User, credential.owner_id))
        proposal = proposals.open_revision(session, credential.id or 0, owner, policies)
        review.revision_proposal_id = proposal.id
    for action in data.actions:
        session.add(
            ReviewAction(
                review_id=review.id or 0,
                credential_id=review.credential_id,
                text=action.text,
                owner_id=action.owner_id or credential.owner_id,
                due_on=action.due_on,
            )
        )
    session.add(review)
    session.flush()
    if data.outcome is not Outcome.retire:
        schedule_next(session, review, policies)


def close_action(session: Session, action_id: int, actor: Actor, note: str) -> ReviewAction:
    action = session.get(ReviewAction, action_id)
    if action is None:
        raise NotFound(f"There is no action {action_id}.")
    if actor.id != action.owner_id and not actor.in_qa_office:
        raise PermissionDenied("Only the action's owner or the QA office can close it.")
    if action.done_at is not None:
        raise Conflict("This action is closed already.")
    action.done_at, action.done_note = utcnow(), note.strip()
    session.add(action)
    session.flush()
    return action


# --- reading -------------------------------------------------------------------------------------


def reviews_of(session: Session, credential_id: int) -> list[Review]:
    """Every review of a micro-credential (its history), latest due first."""
    return list(
        session.exec(
            select(Review)
            .where(Review.credential_id == credential_id)
            .order_by(col(Review.due_on).desc(), col(Review.id).desc())
        )
    )


def offered(session: Session, review: Review, actor: Actor) -> list[str]:
    """The events this person may send now (which buttons the review page shows)."""
    return core.offered(access.review_subject(session, review), actor)


def visible_credential(session: Session, credential_id: int, actor: Actor) -> Credential:
    """A published micro-credential whose reviews this person may see (its owner, the QA office): 404 otherwise."""
    credential = session.get(Credential, credential_id)
    if credential is None or not credential.current_version_no or not access.may_see(credential, actor):
        raise NotFound(f"There is no published micro-credential {credential_id} whose reviews you can see.")
    return credential
