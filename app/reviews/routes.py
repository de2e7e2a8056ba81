"""JSON API of periodic review: the twins of the reviews pages (history of a micro-credential, the QA office's
list with filters, one review with its self-evaluation, every action on it, and the actions it sets)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field
from sqlmodel import Session, col

from app.db import SessionDep, utcnow
from app.errors import NotFound
from app.pagination import Page, PageDep
from app.policies import Policies, PoliciesDep
from app.reviews import queries, service
from app.reviews.models import ReviewAction
from app.reviews.queries import ActionRow, ReviewFilters, ReviewRow
from app.reviews.service import OutcomeIn, ReviewOpenIn, SelfEvaluationIn
from app.routing import api_router
from app.security import Actor, CurrentActor, OverseerActor

router = api_router(tags=["reviews"])


def _today() -> date:
    return utcnow().date()


class ReviewDetail(BaseModel):
    review: ReviewRow
    reason: str
    narrative: str
    need_evidence: str
    need_checked_on: date | None
    action_plan: str
    figures: list[dict[str, Any]] = Field(description="The offerings since the last review, with rates and trends")
    learner_feedback: list[dict[str, Any]] = Field(
        description="The learner-feedback summary: each closed survey since the last review (figures only above "
        "the anonymity threshold), the owner's response and action plan, and why results call for a review"
    )
    previous_actions: list[ActionRow] = Field(description="The last review's action items and their status")
    assessment: str
    actions: list[ActionRow]
    revision_proposal_id: int | None
    checklist: list[dict[str, Any]] | None = Field(
        description="The review's ESG checklist as it stood when the outcome was recorded (its items, answers and "
        "automatic results); the live one is GET /api/v1/reviews/{id}/checklist"
    )
    allowed_events: list[str]


def _detail(session: Session, review_id: int, actor: Actor, policies: Policies) -> ReviewDetail:
    review = service.get_review(session, review_id, actor)
    (row,) = [r for r in queries.of_credential(session, review.credential_id, today=_today()) if r.id == review.id]
    figures = (
        review.figures
        if review.status != "open"
        else [f.as_json() for f in service.figures_since_last_review(session, review)]
    )
    return ReviewDetail(
        review=row,
        reason=review.reason,
        narrative=review.narrative,
        need_evidence=review.need_evidence,
        need_checked_on=review.need_checked_on,
        action_plan=review.action_plan,
        figures=figures,
        learner_feedback=[asdict(s) for s in service.learner_feedback_summary(session, review, policies)],
        previous_actions=queries.previous_actions(session, review),
        assessment=review.assessment,
        actions=queries.actions(session, col(ReviewAction.review_id) == review.id),
        revision_proposal_id=review.revision_proposal_id,
        checklist=review.checklist,
        allowed_events=service.offered(session, review, actor),
    )


@router.get("/credentials/{credential_id}/reviews", response_model=list[ReviewRow])
def credential_reviews(credential_id: int, session: SessionDep, actor: CurrentActor) -> list[ReviewRow]:
    """Every review of a micro-credential, scheduled and past, with its outcome (its owner and the QA office)."""
    service.visible_credential(session, credential_id, actor)
    return queries.of_credential(session, credential_id, today=_today())


@router.post("/credentials/{credential_id}/reviews", response_model=ReviewDetail, status_code=201)
def open_review(
    credential_id: int, data: ReviewOpenIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ReviewDetail:
    """The QA office opens a review now, with a reason (the scheduled one of that kind is brought forward)."""
    review = service.qa_opens(session, credential_id, actor, policies, data, today=_today())
    return _detail(session, review.id or 0, actor, policies)


@router.get("/reviews", response_model=Page[ReviewRow], summary="Reviews, filtered (QA office)")
def list_reviews(
    session: SessionDep, actor: OverseerActor, page: PageDep, filters: Annotated[ReviewFilters, Query()]
) -> Page[ReviewRow]:
    items = queries.listing(session, filters, today=_today(), offset=page.offset, limit=page.limit)
    return Page(items=items, total=queries.count(session, filters), offset=page.offset, limit=page.limit)


class FacultyLoadOut(BaseModel):
    faculty_id: int
    faculty: str
    due_soon: int = Field(description=f"Reviews not closed due within {queries.DUE_SOON_DAYS} days")
    open: int = Field(description="Reviews open, submitted or in QA assessment")
    overdue: int = Field(description="Open reviews past their due date, not submitted")
    suspended: int = Field(description="Suspended micro-credentials (filtered by faculty only)")


class ReviewSummary(BaseModel):
    by_faculty: list[FacultyLoadOut]
    load_per_month: list[dict[str, Any]] = Field(description="{year, months: reviews due in each month, Jan to Dec}")


@router.get("/reviews/summary", response_model=ReviewSummary, summary="Reviews per faculty and per month (QA office)")
def review_summary(
    session: SessionDep, actor: OverseerActor, filters: Annotated[ReviewFilters, Query()]
) -> ReviewSummary:
    """The figures of the reviews dashboard: per faculty, and the load per month, year by year."""
    loads = queries.by_faculty(session, filters, today=_today())
    return ReviewSummary(
        by_faculty=[FacultyLoadOut(**asdict(f)) for f in loads],
        load_per_month=[{"year": y, "months": m} for y, m in queries.load_per_month(session, filters)],
    )


@router.get("/reviews/mine", response_model=list[ReviewRow], summary="The reviews of my micro-credentials")
def my_reviews(session: SessionDep, actor: CurrentActor) -> list[ReviewRow]:
    return queries.my_reviews(session, actor.id, today=_today())


@router.get("/review-actions/mine", response_model=list[ActionRow], summary="My open actions from reviews")
def my_actions(session: SessionDep, actor: CurrentActor) -> list[ActionRow]:
    return queries.my_actions(session, actor.id)


@router.get("/reviews/{review_id}", response_model=ReviewDetail)
def get_review(review_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ReviewDetail:
    return _detail(session, review_id, actor, policies)


@router.put("/reviews/{review_id}/self-evaluation", response_model=ReviewDetail)
def save_self_evaluation(
    review_id: int, data: SelfEvaluationIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ReviewDetail:
    """The owner writes the self-evaluation while the review is open (the figures are taken as they stand)."""
    service.save_self_evaluation(session, review_id, actor, data)
    return _detail(session, review_id, actor, policies)


@router.post("/reviews/{review_id}/submit", response_model=ReviewDetail)
def submit(review_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ReviewDetail:
    service.submit(session, review_id, actor, policies)
    return _detail(session, review_id, actor, policies)


@router.post("/reviews/{review_id}/assessment", response_model=ReviewDetail, summary="Take into QA assessment")
def start_assessment(review_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ReviewDetail:
    service.start_assessment(session, review_id, actor, policies)
    return _detail(session, review_id, actor, policies)


class ReasonIn(BaseModel):
    comment: str = Field(min_length=1, max_length=2000)


@router.post("/reviews/{review_id}/request-changes", response_model=ReviewDetail)
def request_changes(
    review_id: int, data: ReasonIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ReviewDetail:
    service.request_changes(session, review_id, actor, policies, data.comment)
    return _detail(session, review_id, actor, policies)


@router.post("/reviews/{review_id}/outcome", response_model=ReviewDetail)
def record_outcome(
    review_id: int, data: OutcomeIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ReviewDetail:
    """Close the review with its outcome (continue; continue with actions, each with owner and due date; revise,
    which opens a revision; suspend; retire). Refused (422, naming the items) while a mandatory item of the review's
    ESG checklist is unanswered, or with plain "continue" after an item answered not met (policies/esg_part1.yaml);
    the outcome keeps a snapshot of the checklist."""
    service.record_outcome(session, review_id, actor, policies, data, today=_today())
    return _detail(session, review_id, actor, policies)


class CloseActionIn(BaseModel):
    note: str = Field(default="", max_length=2000)


@router.post("/review-actions/{action_id}/close", response_model=ActionRow)
def close_action(action_id: int, data: CloseActionIn, session: SessionDep, actor: CurrentActor) -> ActionRow:
    action = service.close_action(session, action_id, actor, data.note)
    rows = queries.actions(session, col(ReviewAction.id) == action.id)
    if not rows:
        raise NotFound("No such action.")
    return rows[0]
