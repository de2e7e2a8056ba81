"""JSON API of approval: votes, decisions and conditions of a proposal, "Awaiting my decision", the pipeline and
the workflow diagram (the twins of the approval pages and the proposal page's decision panel). Same tag as the
proposal API, so the OpenAPI document groups them as before."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import PlainTextResponse

from app.approvals import access, history, queries
from app.approvals import service as approvals
from app.approvals.workflow_diagram import mermaid
from app.db import SessionDep, utcnow
from app.pagination import Page, PageDep
from app.policies import PoliciesDep
from app.proposals import elements as el
from app.proposals import views
from app.proposals.schemas import (
    ConditionMetIn,
    ConditionPublic,
    ConditionSendBackIn,
    DecisionPublic,
    RowPublic,
    VoteIn,
    VoteOut,
    VotePublic,
)
from app.routing import api_router
from app.security import CurrentActor, OverseerActor

router = api_router(tags=["proposals"])


@router.post("/proposals/{proposal_id}/votes", response_model=VoteOut, summary="Cast or change my vote")
def vote(proposal_id: int, data: VoteIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> VoteOut:
    result = approvals.cast_vote(
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
    proposal = access.get_proposal(session, proposal_id, actor)
    return [views.vote_public(v, name) for v, name in views.votes_with_names(session, proposal)]


@router.get("/proposals/{proposal_id}/decisions", response_model=list[DecisionPublic])
def decisions(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[DecisionPublic]:
    access.get_proposal(session, proposal_id, actor)
    return [DecisionPublic.model_validate(d, from_attributes=True) for d in history.decisions(session, proposal_id)]


@router.get("/proposals/{proposal_id}/conditions", response_model=list[ConditionPublic])
def conditions(proposal_id: int, session: SessionDep, actor: CurrentActor) -> list[ConditionPublic]:
    access.get_proposal(session, proposal_id, actor)
    return [ConditionPublic.model_validate(c, from_attributes=True) for c in views.conditions(session, proposal_id)]


@router.post("/conditions/{condition_id}/met", response_model=ConditionPublic)
def condition_met(
    condition_id: int, data: ConditionMetIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ConditionPublic:
    condition = approvals.mark_condition_met(session, condition_id, actor, policies, data.evidence)
    return ConditionPublic.model_validate(condition, from_attributes=True)


@router.post("/conditions/{condition_id}/confirm", response_model=ConditionPublic)
def condition_confirm(
    condition_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ConditionPublic:
    condition = approvals.confirm_condition(session, condition_id, actor, policies)
    return ConditionPublic.model_validate(condition, from_attributes=True)


@router.post("/conditions/{condition_id}/send-back", response_model=ConditionPublic)
def condition_send_back(
    condition_id: int, data: ConditionSendBackIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ConditionPublic:
    """The QA office finds the evidence not sufficient: the condition is open again, with the reason."""
    condition = approvals.send_back_condition(session, condition_id, actor, policies, data.reason)
    return ConditionPublic.model_validate(condition, from_attributes=True)


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
