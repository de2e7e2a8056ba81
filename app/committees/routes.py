"""JSON API of committee tools: substitutes, watching, the CSV exports (the twins of app/committees/pages.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from app.approvals import access, queries
from app.approvals import service as approvals
from app.committees import delegation, watching
from app.committees.pages import awaiting_rows, csv_response, pipeline_rows
from app.committees.schemas import DelegationIn, DelegationPublic, ReassignIn, WatchPublic
from app.db import SessionDep
from app.policies import PoliciesDep
from app.proposals import elements as el
from app.proposals import views
from app.proposals.schemas import ProposalPublic
from app.routing import api_router
from app.security import CurrentActor, OverseerActor

router = api_router(tags=["committees"])
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}, "description": "A CSV file"}}


def _public(view: delegation.DelegationView) -> DelegationPublic:
    d = view.delegation
    assert d.id is not None
    return DelegationPublic(
        id=d.id,
        member_id=d.member_id,
        member_name=view.member_name,
        substitute_id=d.substitute_id,
        substitute_name=view.substitute_name,
        starts_on=d.starts_on,
        ends_on=d.ends_on,
        reason=d.reason,
        revoked_at=d.revoked_at,
        current=view.current,
    )


@router.get("/delegations", response_model=list[DelegationPublic], summary="Substitutes I named or am (all: admins)")
def list_delegations(session: SessionDep, actor: CurrentActor) -> list[DelegationPublic]:
    return [_public(v) for v in delegation.delegations_of(session, actor, everyone=actor.is_admin)]


@router.post("/delegations", response_model=DelegationPublic, status_code=201, summary="Name a substitute")
def create_delegation(data: DelegationIn, session: SessionDep, actor: CurrentActor) -> DelegationPublic:
    made = delegation.name_substitute(
        session,
        actor,
        member_id=data.member_id or actor.id,
        substitute_id=data.substitute_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        reason=data.reason,
    )
    assert made.id is not None
    return _public(delegation.get_delegation(session, made.id, actor))


@router.get("/delegations/{delegation_id}", response_model=DelegationPublic)
def get_delegation(delegation_id: int, session: SessionDep, actor: CurrentActor) -> DelegationPublic:
    return _public(delegation.get_delegation(session, delegation_id, actor))


@router.delete("/delegations/{delegation_id}", response_model=DelegationPublic, summary="End a substitute's period now")
def end_delegation(delegation_id: int, session: SessionDep, actor: CurrentActor) -> DelegationPublic:
    delegation.end_delegation(session, delegation_id, actor)
    return _public(delegation.get_delegation(session, delegation_id, actor))


@router.get("/proposals/{proposal_id}/watch", response_model=WatchPublic, summary="Do I watch this proposal?")
def get_watch(proposal_id: int, session: SessionDep, actor: CurrentActor) -> WatchPublic:
    access.get_proposal(session, proposal_id, actor)
    return WatchPublic(proposal_id=proposal_id, watching=watching.is_watching(session, proposal_id, actor.id))


@router.put("/proposals/{proposal_id}/watch", response_model=WatchPublic, summary="Watch a proposal (FYI notices)")
def put_watch(proposal_id: int, session: SessionDep, actor: CurrentActor) -> WatchPublic:
    return WatchPublic(proposal_id=proposal_id, watching=watching.watch(session, proposal_id, actor))


@router.delete("/proposals/{proposal_id}/watch", response_model=WatchPublic, summary="Stop watching a proposal")
def delete_watch(proposal_id: int, session: SessionDep, actor: CurrentActor) -> WatchPublic:
    return WatchPublic(proposal_id=proposal_id, watching=watching.unwatch(session, proposal_id, actor))


@router.post(
    "/proposals/{proposal_id}/reassign",
    response_model=ProposalPublic,
    summary="Hand a stuck stage to another committee (administrators)",
)
def reassign(
    proposal_id: int, data: ReassignIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> ProposalPublic:
    proposal = approvals.reassign(
        session, proposal_id, actor, policies, committee_id=data.committee_id, reason=data.reason
    )
    return views.proposal_public(session, proposal, actor, policies)


@router.get("/awaiting.csv", response_class=Response, responses=CSV, summary="Awaiting my decision, as CSV")
def awaiting_csv(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return csv_response(awaiting_rows(session, actor), request, "awaiting")


@router.get("/pipeline.csv", response_class=Response, responses=CSV, summary="The pipeline as CSV (QA office)")
def pipeline_csv(
    request: Request,
    session: SessionDep,
    actor: OverseerActor,
    status_: Annotated[str | None, Query(alias="status", max_length=40)] = None,
    org_unit_id: int | None = None,
    kind: el.Kind | None = None,
    open_conditions: bool = False,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    filters = queries.PipelineFilter(status_, org_unit_id, kind.value if kind else None, open_conditions, q)
    return csv_response(pipeline_rows(session, filters), request, "pipeline")
