"""JSON API for proposals: the twin of every action on the proposal pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Form, Query, Request, Response, UploadFile, status

from app import limits
from app.approvals import access, history
from app.approvals import service as approvals
from app.audit.models import AuditEventPublic
from app.db import SessionDep
from app.org.service import require_known_org_unit
from app.pagination import Page, PageDep
from app.policies import PoliciesDep
from app.proposals import attachments, service, views
from app.proposals.attachments import AttachmentPublic
from app.proposals.schemas import (
    ChangesRequestedPublic,
    CheckIn,
    CheckOut,
    CommentEditIn,
    CommentIn,
    CommentPublic,
    CredentialRowPublic,
    EffectiveDateIn,
    ProposalCreate,
    ProposalPublic,
    ProposalUpdate,
    RoundPublic,
    SubmitIn,
    VersionPublic,
    VotingPublic,
)
from app.routing import api_router
from app.security import CurrentActor

router = api_router(tags=["proposals"])


@router.get("/proposals", response_model=Page[ProposalPublic], summary="My proposals (owner or co-proposer)")
def my_proposals(
    session: SessionDep, actor: CurrentActor, policies: PoliciesDep, page: PageDep
) -> Page[ProposalPublic]:
    rows, total = service.my_proposals(session, actor, offset=page.offset, limit=page.limit)
    items = [views.proposal_public(session, p, actor, policies) for p in rows]
    return Page(items=items, total=total, offset=page.offset, limit=page.limit)


@router.get(
    "/my-micro-credentials",
    response_model=Page[CredentialRowPublic],
    summary="My proposals, one row per micro-credential (current edition and the proposal under way)",
)
def my_micro_credentials(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[CredentialRowPublic]:
    rows, total = service.my_credentials(session, actor, offset=page.offset, limit=page.limit)
    items = [
        CredentialRowPublic(
            credential_id=row.credential_id,
            title=row.title,
            current_proposal_id=row.current.id if row.current else None,
            open_proposal_id=row.open.id if row.open else None,
            status=row.state,
            status_label=access.STATE_LABELS[row.state],
        )
        for row in rows
    ]
    return Page(items=items, total=total, offset=page.offset, limit=page.limit)


@router.post("/proposals", response_model=ProposalPublic, status_code=status.HTTP_201_CREATED)
def create_proposal(
    data: ProposalCreate, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    require_known_org_unit(session, data.org_unit_id)
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
    return views.proposal_public(session, access.get_proposal(session, proposal_id, actor), actor, policies)


@router.patch("/proposals/{proposal_id}", response_model=ProposalPublic)
def update_proposal(
    proposal_id: int, data: ProposalUpdate, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    proposal = access.get_proposal(session, proposal_id, actor)
    changes = data.elements.model_dump(mode="json", exclude_unset=True) if data.elements is not None else {}
    values = {**proposal.content, **changes}
    proposal, _ = service.update_proposal(session, proposal_id, actor, policies, values, data.co_proposer_ids)
    return views.proposal_public(session, proposal, actor, policies)


@router.post("/proposals/{proposal_id}/submit", response_model=ProposalPublic)
def submit(
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    data: Annotated[SubmitIn | None, Body()] = None,
) -> ProposalPublic:
    responses = data.responses if data is not None else {}
    proposal = service.submit(session, proposal_id, actor, policies, responses)
    return views.proposal_public(session, proposal, actor, policies)


@router.put(
    "/proposals/{proposal_id}/effective-date", response_model=ProposalPublic, summary="When a revision takes effect"
)
def effective_date(
    proposal_id: int, data: EffectiveDateIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    proposal = service.set_effective_date(session, proposal_id, actor, policies, data.effective_on)
    return views.proposal_public(session, proposal, actor, policies)


@router.get("/proposals/{proposal_id}/rounds", response_model=list[RoundPublic], summary="Every round, by body")
def rounds(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[RoundPublic]:
    proposal = access.get_proposal(session, proposal_id, actor)
    return [views.round_public(r) for r in history.rounds(session, proposal)]


@router.get(
    "/proposals/{proposal_id}/voting",
    response_model=VotingPublic | None,
    summary="The deciding body's rule and how many more votes each outcome needs (null while no body decides)",
)
def voting(proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> VotingPublic | None:
    proposal = access.get_proposal(session, proposal_id, actor)
    progress = approvals.round_progress(
        access.load_ctx(session, proposal), policies, approvals.round_votes(session, proposal)
    )
    return views.voting_public(progress, history.body_round(session, proposal)) if progress else None


@router.get(
    "/proposals/{proposal_id}/changes-requested",
    response_model=ChangesRequestedPublic | None,
    summary="Who asked for what when changes were requested (null unless the proposal waits for changes)",
)
def changes_requested(proposal_id: int, session: SessionDep, actor: CurrentActor) -> ChangesRequestedPublic | None:
    proposal = access.get_proposal(session, proposal_id, actor)
    sent_back = history.changes_requested(session, proposal)
    return views.changes_requested_public(sent_back) if sent_back else None


@router.post("/proposals/{proposal_id}/withdraw", response_model=ProposalPublic)
def withdraw(
    proposal_id: int,
    session: SessionDep,
    actor: CurrentActor,
    policies: PoliciesDep,
    comment: Annotated[str, Query(max_length=limits.REASON)] = "",
) -> ProposalPublic:
    proposal = service.withdraw(session, proposal_id, actor, policies, comment)
    return views.proposal_public(session, proposal, actor, policies)


@router.post("/proposals/{proposal_id}/publish", response_model=ProposalPublic)
def publish(proposal_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> ProposalPublic:
    return views.proposal_public(session, approvals.publish_by(session, proposal_id, actor, policies), actor, policies)


AUDIT_PAGE_MAX = 1000


@router.get(
    "/proposals/{proposal_id}/audit",
    response_model=list[AuditEventPublic],
    summary="The timeline",
    responses={
        200: {
            "headers": {
                "Link": {
                    "description": 'The next page, `<...?after=ID&limit=N>; rel="next"`, while more entries follow',
                    "schema": {"type": "string"},
                }
            }
        }
    },
)
def audit_trail(
    proposal_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CurrentActor,
    after: Annotated[int, Query(ge=0, description="Only the entries after the entry with this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=AUDIT_PAGE_MAX, description="Entries per page")] = AUDIT_PAGE_MAX,
) -> list[AuditEventPublic]:
    """The audit trail of the proposal and its conditions, oldest first, a page at a time. When more entries
    follow, the `Link` header names the next page (`rel="next"`): the same call with `after` set to the last
    entry's id. An integration keeping up with a proposal asks for the entries after the last one it has."""
    access.get_proposal(session, proposal_id, actor)
    events, more = views.audit_page(session, proposal_id, after, limit)
    if more:
        following = request.url.include_query_params(after=events[-1].id, limit=limit)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return [AuditEventPublic.model_validate(e, from_attributes=True) for e in events]


@router.get("/proposals/{proposal_id}/versions", response_model=list[VersionPublic], summary="Frozen submissions")
def versions(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[VersionPublic]:
    access.get_proposal(session, proposal_id, actor)
    return [VersionPublic.model_validate(v, from_attributes=True) for v in views.versions(session, proposal_id)]


@router.get("/proposals/{proposal_id}/comments", response_model=list[CommentPublic])
def comments(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[CommentPublic]:
    access.get_proposal(session, proposal_id, actor)
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


@router.post("/credentials/{credential_id}/revisions", response_model=ProposalPublic, status_code=201)
def open_revision(
    credential_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    proposal = service.open_revision(session, credential_id, actor, policies)
    return views.proposal_public(session, proposal, actor, policies)


@router.get("/proposals/{proposal_id}/attachments", response_model=list[AttachmentPublic])
def list_attachments(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[AttachmentPublic]:
    access.get_proposal(session, proposal_id, actor)
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
