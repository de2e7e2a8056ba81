"""JSON API for proposals: the twin of every action on the proposal pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Response, UploadFile, status
from fastapi.responses import PlainTextResponse

from app.audit.models import AuditEventPublic
from app.credentials import attachments, queries, service, views
from app.credentials import elements as el
from app.credentials.attachments import AttachmentPublic
from app.credentials.schemas import (
    CheckIn,
    CheckOut,
    CommentEditIn,
    CommentIn,
    CommentPublic,
    ConditionMetIn,
    ConditionPublic,
    ConditionSendBackIn,
    DecisionPublic,
    ProposalCreate,
    ProposalPublic,
    ProposalUpdate,
    RowPublic,
    VersionPublic,
    VoteIn,
    VoteOut,
    VotePublic,
)
from app.credentials.workflow_diagram import mermaid
from app.db import SessionDep, utcnow
from app.pagination import Page, PageDep
from app.policies import PoliciesDep
from app.security import CurrentActor, OverseerActor

router = APIRouter(tags=["proposals"])


@router.get("/proposals", response_model=Page[ProposalPublic], summary="My proposals (owner or co-proposer)")
def my_proposals(
    session: SessionDep, actor: CurrentActor, policies: PoliciesDep, page: PageDep
) -> Page[ProposalPublic]:
    rows, total = service.my_proposals(session, actor, offset=page.offset, limit=page.limit)
    items = [views.proposal_public(session, p, actor, policies) for p in rows]
    return Page(items=items, total=total, offset=page.offset, limit=page.limit)


@router.post("/proposals", response_model=ProposalPublic, status_code=status.HTTP_201_CREATED)
def create_proposal(
    data: ProposalCreate, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    proposal, _ = service.create_proposal(
        session,
        actor,
        policies,
        kind=data.kind,
        values=data.elements.model_dump(exclude_unset=True, mode="json"),
        org_unit_id=data.org_unit_id,
        co_proposer_ids=data.co_proposer_ids,
    )
    return views.proposal_public(session, proposal, actor, policies)


@router.post("/proposals/check", response_model=CheckOut, summary="Validate elements as typed, saving nothing")
def check(data: CheckIn, session: SessionDep, _actor: CurrentActor, policies: PoliciesDep) -> CheckOut:
    result = service.check_values(session, data.elements, policies, data.kind)
    return CheckOut(
        errors=result.errors, warnings=result.warnings, missing=result.missing, completeness=result.completeness
    )


@router.get("/proposals/{proposal_id}", response_model=ProposalPublic)
def get_proposal(proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ProposalPublic:
    return views.proposal_public(session, service.get_proposal(session, proposal_id, actor), actor, policies)


@router.patch("/proposals/{proposal_id}", response_model=ProposalPublic)
def update_proposal(
    proposal_id: int, data: ProposalUpdate, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    proposal = service.get_proposal(session, proposal_id, actor)
    changes = data.elements.model_dump(mode="json", exclude_unset=True) if data.elements is not None else {}
    values = {**proposal.content, **changes}
    proposal, _ = service.update_proposal(session, proposal_id, actor, policies, values, data.co_proposer_ids)
    return views.proposal_public(session, proposal, actor, policies)


@router.post("/proposals/{proposal_id}/submit", response_model=ProposalPublic)
def submit(proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ProposalPublic:
    return views.proposal_public(session, service.submit(session, proposal_id, actor, policies), actor, policies)


@router.post("/proposals/{proposal_id}/withdraw", response_model=ProposalPublic)
def withdraw(
    proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep, comment: str = ""
) -> ProposalPublic:
    proposal = service.withdraw(session, proposal_id, actor, policies, comment)
    return views.proposal_public(session, proposal, actor, policies)


@router.post("/proposals/{proposal_id}/publish", response_model=ProposalPublic)
def publish(proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ProposalPublic:
    return views.proposal_public(session, service.publish_by(session, proposal_id, actor, policies), actor, policies)


@router.post("/proposals/{proposal_id}/votes", response_model=VoteOut, summary="Cast or change my vote")
def vote(proposal_id: int, data: VoteIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> VoteOut:
    result = service.cast_vote(
        session,
        proposal_id,
        actor,
        policies,
        choice=data.choice,
        comment=data.comment,
        conditions=[c.model_dump() for c in data.conditions],
    )
    decision = DecisionPublic.model_validate(result.decision, from_attributes=True) if result.decision else None
    return VoteOut(proposal_status=result.proposal.status, choice=result.vote.choice, decision=decision)


@router.get("/proposals/{proposal_id}/votes", response_model=list[VotePublic], summary="Votes of the current round")
def votes(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[VotePublic]:
    proposal = service.get_proposal(session, proposal_id, actor)
    return [
        VotePublic(voter_name=name, **v.model_dump(include=set(VotePublic.model_fields) - {"voter_name"}))
        for v, name in views.votes_with_names(session, proposal)
    ]


@router.get("/proposals/{proposal_id}/decisions", response_model=list[DecisionPublic])
def decisions(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[DecisionPublic]:
    service.get_proposal(session, proposal_id, actor)
    return [DecisionPublic.model_validate(d, from_attributes=True) for d in views.decisions(session, proposal_id)]


@router.get("/proposals/{proposal_id}/audit", response_model=list[AuditEventPublic], summary="The timeline")
def audit_trail(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[AuditEventPublic]:
    service.get_proposal(session, proposal_id, actor)
    return [
        AuditEventPublic.model_validate(e, from_attributes=True) for e in views.timeline(session, proposal_id).events
    ]


@router.get("/proposals/{proposal_id}/versions", response_model=list[VersionPublic], summary="Frozen submissions")
def versions(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[VersionPublic]:
    service.get_proposal(session, proposal_id, actor)
    return [VersionPublic.model_validate(v, from_attributes=True) for v in views.versions(session, proposal_id)]


@router.get("/proposals/{proposal_id}/comments", response_model=list[CommentPublic])
def comments(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[CommentPublic]:
    service.get_proposal(session, proposal_id, actor)
    result: list[CommentPublic] = []

    def walk(nodes: list[views.CommentNode]) -> None:
        for node in nodes:
            c = node.comment
            result.append(
                CommentPublic(
                    id=c.id or 0,
                    proposal_id=c.proposal_id,
                    parent_id=c.parent_id,
                    author_id=c.author_id,
                    body=c.body,
                    created_at=c.created_at,
                    edited_at=c.edited_at,
                    previous_bodies=[e.previous_body for e in node.previous],
                )
            )
            walk(node.replies)

    walk(views.comment_tree(session, proposal_id))
    return result


@router.post("/proposals/{proposal_id}/comments", response_model=CommentPublic, status_code=status.HTTP_201_CREATED)
def add_comment(proposal_id: int, data: CommentIn, session: SessionDep, actor: CurrentActor) -> CommentPublic:
    comment = service.add_comment(session, proposal_id, actor, data.body, data.parent_id)
    return CommentPublic.model_validate(comment, from_attributes=True)


@router.patch("/comments/{comment_id}", response_model=CommentPublic, summary="Edit my comment (history is kept)")
def edit_comment(comment_id: int, data: CommentEditIn, session: SessionDep, actor: CurrentActor) -> CommentPublic:
    comment = service.edit_comment(session, comment_id, actor, data.body)
    return CommentPublic.model_validate(comment, from_attributes=True)


@router.get("/proposals/{proposal_id}/conditions", response_model=list[ConditionPublic])
def conditions(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[ConditionPublic]:
    service.get_proposal(session, proposal_id, actor)
    return [ConditionPublic.model_validate(c, from_attributes=True) for c in views.conditions(session, proposal_id)]


@router.post("/conditions/{condition_id}/met", response_model=ConditionPublic)
def condition_met(
    condition_id: int, data: ConditionMetIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ConditionPublic:
    condition = service.mark_condition_met(session, condition_id, actor, policies, data.evidence)
    return ConditionPublic.model_validate(condition, from_attributes=True)


@router.post("/conditions/{condition_id}/confirm", response_model=ConditionPublic)
def condition_confirm(
    condition_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ConditionPublic:
    condition = service.confirm_condition(session, condition_id, actor, policies)
    return ConditionPublic.model_validate(condition, from_attributes=True)


@router.post("/conditions/{condition_id}/send-back", response_model=ConditionPublic)
def condition_send_back(
    condition_id: int, data: ConditionSendBackIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ConditionPublic:
    """The QA office finds the evidence not sufficient: the condition is open again, with the reason."""
    condition = service.send_back_condition(session, condition_id, actor, policies, data.reason)
    return ConditionPublic.model_validate(condition, from_attributes=True)


@router.post("/credentials/{credential_id}/revisions", response_model=ProposalPublic, status_code=201)
def open_revision(
    credential_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    proposal = service.open_revision(session, credential_id, actor, policies)
    return views.proposal_public(session, proposal, actor, policies)


@router.get("/proposals/{proposal_id}/attachments", response_model=list[AttachmentPublic])
def list_attachments(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[AttachmentPublic]:
    service.get_proposal(session, proposal_id, actor)
    return attachments.list_for(session, proposal_id)


@router.post("/proposals/{proposal_id}/attachments", response_model=AttachmentPublic, status_code=201)
def add_attachment(
    proposal_id: int,
    file: UploadFile,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    description: Annotated[str, Form(max_length=500)] = "",
) -> AttachmentPublic:
    row = attachments.add(
        session,
        proposal_id,
        actor,
        policies,
        filename=file.filename or "",
        content_type=file.content_type or "",
        data=file.file.read(),
        description=description,
    )
    return AttachmentPublic.model_validate(row, from_attributes=True)


@router.get("/attachments/{attachment_id}", response_class=Response, summary="Download an evidence file")
def download_attachment(attachment_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    return attachments.download(attachments.get(session, attachment_id, actor))


@router.get("/awaiting", response_model=Page[RowPublic], summary="Awaiting my decision")
def awaiting(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[RowPublic]:
    rows, total = queries.awaiting(session, actor, offset=page.offset, limit=page.limit, now=utcnow())
    return Page(items=[views.row_public(r) for r in rows], total=total, offset=page.offset, limit=page.limit)


@router.get("/pipeline", response_model=Page[RowPublic], summary="Every proposal in progress (QA office)")
def pipeline(
    session: SessionDep,
    actor: OverseerActor,
    page: PageDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    org_unit_id: int | None = None,
    kind: el.Kind | None = None,
    open_conditions: bool = False,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Page[RowPublic]:
    filters = queries.PipelineFilter(status_, org_unit_id, kind.value if kind else None, open_conditions, q)
    result = queries.pipeline(session, filters, offset=page.offset, limit=page.limit, now=utcnow())
    return Page(
        items=[views.row_public(r) for r in result.rows], total=result.total, offset=page.offset, limit=page.limit
    )


@router.get("/workflow/diagram", response_class=PlainTextResponse, summary="The approval workflow as Mermaid")
def diagram() -> str:
    return mermaid()
