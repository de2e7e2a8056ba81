"""JSON API of the ESG checklist of a proposal or a periodic review: the twin of the checklist page (read it,
answer an item); both subjects share the schemas and the handlers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session

from app.checklists import service
from app.checklists.policy import STANDARDS
from app.db import SessionDep
from app.policies import Policies, PoliciesDep
from app.proposals import attachments
from app.proposals.attachments import AttachmentPublic
from app.routing import api_router
from app.security import Actor, CurrentActor

router = api_router(tags=["checklists"])


class AutomaticOut(BaseModel):
    status: str = Field(description="What the automatic check concludes: met, partly_met or not_met")
    reasons: list[str]
    matches: list[dict[str, Any]] = Field(description="Published micro-credentials that look alike (duplication)")


class EvidenceOut(BaseModel):
    text: str
    links: list[str]
    attachments: list[AttachmentPublic]


class ChecklistItemOut(BaseModel):
    key: str
    standard: str
    standard_title: str
    title: str = Field(description="The question as answered (the current text while unanswered)")
    guidance: str
    body: str = Field(description="Who answers: faculty_council, lll_committee, qa_office, final_body or review")
    mandatory: bool
    status: Literal["unanswered", "met", "partly_met", "not_met", "not_applicable"]
    comment: str
    automatic: AutomaticOut | None = Field(description="The automatic check now, when the item has one")
    automatic_when_answered: AutomaticOut | None
    evidence: EvidenceOut
    condition_text: str = Field(description="A 'not met' made a condition of approval")
    condition_due_on: date | None
    answered_by_id: int | None
    answered_at: datetime | None
    item_version: str = Field(description="The item's version in the policy now")
    answered_version: str | None = Field(description="The item's version the answer answered")
    can_answer: bool


class StandardProgressOut(BaseModel):
    standard: str
    title: str
    answered: int
    total: int


class ChecklistOut(BaseModel):
    subject_type: Literal["proposal", "review"] = Field(description="What owns the checklist")
    subject_id: int
    proposal_id: int | None = Field(description="The proposal owning it (a proposal's checklist)")
    review_id: int | None = Field(description="The periodic review owning it (a review's checklist)")
    policy_version: str
    answered: int
    total: int
    standards: list[StandardProgressOut]
    items: list[ChecklistItemOut]


class ChecklistAnswerIn(BaseModel):
    status: Literal["met", "partly_met", "not_met", "not_applicable"]
    comment: str = Field(
        default="",
        max_length=4000,
        description="The reason: required for not applicable and to differ from the automatic check",
    )
    evidence_text: str = Field(default="", max_length=4000)
    evidence_links: list[str] = Field(default_factory=list, max_length=20)
    attachment_ids: list[int] = Field(
        default_factory=list,
        max_length=50,
        description="Files of the proposal (a review's: of the proposal of its current published edition)",
    )
    condition_text: str = Field(
        default="", max_length=1000, description="For not met: the condition of approval it becomes (proposals only)"
    )
    condition_due_on: date | None = None


def item_out(view: service.ItemView, files: dict[int, AttachmentPublic]) -> ChecklistItemOut:
    r = view.response
    answered = r is not None and r.answered_at is not None
    return ChecklistItemOut(
        key=view.key,
        standard=view.item.standard,
        standard_title=STANDARDS[view.item.standard],
        title=view.title,
        guidance=view.item.guidance,
        body=view.item.body.value,
        mandatory=view.item.mandatory,
        status=view.status,
        comment=r.comment if r else "",
        automatic=AutomaticOut(**view.auto.as_json()) if view.auto else None,
        automatic_when_answered=AutomaticOut(**r.automatic) if r and r.automatic else None,
        evidence=EvidenceOut(
            text=r.evidence_text if r else "",
            links=list(r.evidence_links) if r else [],
            attachments=[files[i] for i in (r.attachment_ids if r else []) if i in files],
        ),
        condition_text=r.condition_text if r else "",
        condition_due_on=r.condition_due_on if r else None,
        answered_by_id=r.answered_by_id if r else None,
        answered_at=r.answered_at if r else None,
        item_version=view.item.version,
        answered_version=r.item_version if answered and r else None,
        can_answer=view.can_answer,
    )


def _files(session: Session, owner: service.Owner, only: list[int] | None = None) -> dict[int, AttachmentPublic]:
    """The files that can be evidence for the owner's items, by id (``only``: just these, none when empty)."""
    if not owner.evidence_of or only == []:
        return {}
    return {a.id: a for a in attachments.list_for(session, owner.evidence_of, only)}


def checklist_out(
    session: Session, subject_id: int, actor: Actor, policies: Policies, subject_type: str = service.PROPOSAL
) -> ChecklistOut:
    owner = service.load_owner(session, subject_type, subject_id, actor)
    found = service.checklist_for(session, owner, actor, policies)
    files = _files(session, owner)
    return ChecklistOut(
        subject_type="review" if owner.type == service.REVIEW else "proposal",
        subject_id=owner.id,
        proposal_id=owner.id if owner.type == service.PROPOSAL else None,
        review_id=owner.id if owner.type == service.REVIEW else None,
        policy_version=found.policy_version,
        answered=found.answered,
        total=found.total,
        standards=[StandardProgressOut(**vars(p)) for p in found.by_standard],
        items=[item_out(v, files) for v in found.items],
    )


def answer_out(
    session: Session,
    subject_type: str,
    subject_id: int,
    key: str,
    data: ChecklistAnswerIn,
    actor: Actor,
    policies: Policies,
) -> ChecklistItemOut:
    given = service.Answer(**data.model_dump())
    owner = service.load_owner(session, subject_type, subject_id, actor)
    view = service.answer(session, subject_id, key, actor, policies, given, subject_type=subject_type, owner=owner)
    return item_out(view, _files(session, owner, view.response.attachment_ids if view.response else []))


@router.get(
    "/proposals/{proposal_id}/checklist",
    response_model=ChecklistOut,
    summary="The ESG Part 1 checklist of a proposal",
)
def get_checklist(proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ChecklistOut:
    """The items that apply to the proposal (its kind and route), each with its answer, the automatic check's
    result and its evidence; progress per standard and overall."""
    return checklist_out(session, proposal_id, actor, policies)


@router.put(
    "/proposals/{proposal_id}/checklist/{key}",
    response_model=ChecklistItemOut,
    summary="Answer an item of the ESG checklist",
)
def put_answer(
    proposal_id: int,
    key: str,
    data: ChecklistAnswerIn,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> ChecklistItemOut:
    """Only members of the item's body, while that body is deciding the proposal (403 otherwise, 409 when it is not
    its turn). Not applicable needs a reason, and so does an answer that differs from the automatic check (422)."""
    return answer_out(session, service.PROPOSAL, proposal_id, key, data, actor, policies)


@router.get(
    "/reviews/{review_id}/checklist",
    response_model=ChecklistOut,
    summary="The ESG Part 1 checklist of a periodic review",
)
def get_review_checklist(
    review_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ChecklistOut:
    """The items whose contexts include the periodic review, each with its answer, the automatic check's result
    on the micro-credential's current published edition and its evidence; progress per standard and overall."""
    return checklist_out(session, review_id, actor, policies, service.REVIEW)


@router.put(
    "/reviews/{review_id}/checklist/{key}",
    response_model=ChecklistItemOut,
    summary="Answer an item of a periodic review's ESG checklist",
)
def put_review_answer(
    review_id: int,
    key: str,
    data: ChecklistAnswerIn,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
) -> ChecklistItemOut:
    """Only the QA office, while the review is in QA assessment (the owner reads it: 403; before the assessment or
    after the outcome: 409). Not applicable needs a reason, and so does an answer that differs from the automatic
    check; a review's item does not become a condition of approval (422)."""
    return answer_out(session, service.REVIEW, review_id, key, data, actor, policies)
