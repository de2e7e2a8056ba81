"""JSON API of agendas (the twins of app/committees/agenda_pages.py)."""

from __future__ import annotations

from sqlmodel import Session

from app.committees import agendas
from app.committees.schemas import (
    AgendaIn,
    AgendaItemIn,
    AgendaItemPublic,
    AgendaNoteIn,
    AgendaOrderIn,
    AgendaPublic,
    MinutesIn,
)
from app.db import SessionDep
from app.policies import PoliciesDep
from app.routing import api_router
from app.security import Actor, CurrentActor

router = api_router(tags=["committees"])


def _public(session: Session, agenda_id: int, actor: Actor) -> AgendaPublic:
    v = agendas.view(session, agenda_id, actor)
    a = v.agenda
    assert a.id is not None and v.committee.id is not None
    return AgendaPublic(
        id=a.id,
        committee_id=v.committee.id,
        committee_name=v.committee.name,
        meets_on=a.meets_on,
        title=a.title,
        status=a.status,
        revision=a.revision,
        allowed_actions=v.actions,
        items=[
            AgendaItemPublic(
                id=i.item.id or 0,
                proposal_id=i.item.proposal_id,
                proposal_title=i.proposal.title,
                position=i.item.position,
                note=i.item.note,
                review_round=i.item.review_round,
                still_awaiting=i.still_awaiting,
                outcome=i.item.outcome,
                outcome_comment=i.item.outcome_comment,
            )
            for i in v.items
        ],
    )


@router.get("/agendas", response_model=list[AgendaPublic], summary="Agendas of my committees")
def list_agendas(session: SessionDep, actor: CurrentActor) -> list[AgendaPublic]:
    return [_public(session, a.id or 0, actor) for a, _, _ in agendas.agendas_for(session, actor)]


@router.post("/agendas", response_model=AgendaPublic, status_code=201, summary="Draft an agenda (chair, QA office)")
def create_agenda(data: AgendaIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> AgendaPublic:
    agenda = agendas.create(
        session, actor, policies, committee_id=data.committee_id, meets_on=data.meets_on, title=data.title
    )
    return _public(session, agenda.id or 0, actor)


@router.get("/agendas/{agenda_id}", response_model=AgendaPublic)
def get_agenda(agenda_id: int, session: SessionDep, actor: CurrentActor) -> AgendaPublic:
    return _public(session, agenda_id, actor)


@router.put("/agendas/{agenda_id}/order", response_model=AgendaPublic, summary="Reorder the items")
def reorder(agenda_id: int, data: AgendaOrderIn, session: SessionDep, actor: CurrentActor) -> AgendaPublic:
    agendas.reorder(session, agenda_id, data.item_ids, actor, revision=data.revision)
    return _public(session, agenda_id, actor)


@router.post("/agendas/{agenda_id}/items", response_model=AgendaPublic, status_code=201, summary="Add a proposal")
def add_item(agenda_id: int, data: AgendaItemIn, session: SessionDep, actor: CurrentActor) -> AgendaPublic:
    agendas.add(session, agenda_id, data.proposal_id, actor, revision=data.revision)
    return _public(session, agenda_id, actor)


@router.put("/agendas/{agenda_id}/items/{item_id}/note", response_model=AgendaPublic, summary="Annotate an item")
def annotate(
    agenda_id: int, item_id: int, data: AgendaNoteIn, session: SessionDep, actor: CurrentActor
) -> AgendaPublic:
    agendas.annotate(session, agenda_id, item_id, actor, data.note, revision=data.revision)
    return _public(session, agenda_id, actor)


@router.delete("/agendas/{agenda_id}/items/{item_id}", response_model=AgendaPublic, summary="Remove an item")
def remove_item(
    agenda_id: int, item_id: int, session: SessionDep, actor: CurrentActor, revision: int | None = None
) -> AgendaPublic:
    agendas.remove(session, agenda_id, item_id, actor, revision=revision)
    return _public(session, agenda_id, actor)


@router.post("/agendas/{agenda_id}/publish", response_model=AgendaPublic, summary="Publish to the members")
def publish(agenda_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> AgendaPublic:
    agendas.publish(session, agenda_id, actor, policies)
    return _public(session, agenda_id, actor)


@router.post("/agendas/{agenda_id}/cancel", response_model=AgendaPublic, summary="Cancel the meeting")
def cancel(agenda_id: int, session: SessionDep, actor: CurrentActor, policies: PoliciesDep) -> AgendaPublic:
    agendas.cancel(session, agenda_id, actor, policies)
    return _public(session, agenda_id, actor)


@router.post(
    "/agendas/{agenda_id}/minutes",
    response_model=AgendaPublic,
    summary="Record the body's decisions from the meeting (all items, all or nothing)",
)
def minutes(
    agenda_id: int, data: MinutesIn, session: SessionDep, actor: CurrentActor, policies: PoliciesDep
) -> AgendaPublic:
    entries = {
        m.item_id: agendas.Entry(m.outcome, m.comment, tuple(c.model_dump() for c in m.conditions)) for m in data.items
    }
    agendas.record_minutes(session, agenda_id, actor, policies, entries)
    return _public(session, agenda_id, actor)
