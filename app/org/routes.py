"""JSON API for faculties, committees and memberships, programmes and modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, status
from sqlmodel import Session

from app.db import SessionDep
from app.org import service
from app.org.models import (
    CommitteeCreate,
    CommitteePublic,
    CommitteeUpdate,
    MemberSet,
    MembershipEnd,
    ModuleCreate,
    ModulePublic,
    OrgUnitCreate,
    OrgUnitPublic,
    ProgrammeCreate,
    ProgrammePublic,
    ProgrammeUpdate,
)
from app.policies import PoliciesDep
from app.routing import api_router
from app.security import Actor, AdminActor, CurrentActor

router = api_router(tags=["organisation"])


@router.get("/org-units", response_model=list[OrgUnitPublic])
def list_org_units(session: SessionDep, _actor: CurrentActor) -> list[OrgUnitPublic]:
    return [OrgUnitPublic.model_validate(u, from_attributes=True) for u in service.list_org_units(session)]


@router.post("/org-units", response_model=OrgUnitPublic, status_code=status.HTTP_201_CREATED)
def create_org_unit(data: OrgUnitCreate, session: SessionDep, admin: AdminActor) -> OrgUnitPublic:
    return OrgUnitPublic.model_validate(service.create_org_unit(session, data, by=admin), from_attributes=True)


@router.get("/committees", response_model=list[CommitteePublic])
def list_committees(session: SessionDep, _actor: CurrentActor) -> list[CommitteePublic]:
    return service.committees_public(session, service.list_committees(session))


@router.post("/committees", response_model=CommitteePublic, status_code=status.HTTP_201_CREATED)
def create_committee(
    data: CommitteeCreate, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> CommitteePublic:
    return service.committee_public(session, service.create_committee(session, data, by=admin, policies=policies))


@router.get("/committees/{committee_id}", response_model=CommitteePublic)
def get_committee(committee_id: int, session: SessionDep, _actor: CurrentActor) -> CommitteePublic:
    return service.committee_public(session, service.get_committee(session, committee_id))


@router.put("/committees/{committee_id}", response_model=CommitteePublic)
def update_committee(
    committee_id: int, data: CommitteeUpdate, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> CommitteePublic:
    """Rename the committee and name its chair; its kind and faculty change only while it has decided nothing and
    no proposal waits for it (409 otherwise)."""
    committee = service.get_committee(session, committee_id)
    return service.committee_public(
        session, service.update_committee(session, committee, data, by=admin, policies=policies)
    )


@router.post("/committees/{committee_id}/deactivate", response_model=CommitteePublic)
def deactivate_committee(
    committee_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> CommitteePublic:
    """The committee decides nothing more and is offered nowhere; its votes and decisions keep its name. Refused
    (409, naming them) while proposals wait for its decision."""
    committee = service.get_committee(session, committee_id)
    service.set_committee_active(session, committee, False, by=admin, policies=policies)
    return service.committee_public(session, committee)


@router.post("/committees/{committee_id}/reactivate", response_model=CommitteePublic)
def reactivate_committee(
    committee_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> CommitteePublic:
    """Refused (409) while another active body holds its place."""
    committee = service.get_committee(session, committee_id)
    service.set_committee_active(session, committee, True, by=admin, policies=policies)
    return service.committee_public(session, committee)


@router.post("/committees/{committee_id}/members/{user_id}/end", response_model=CommitteePublic)
def end_membership(
    committee_id: int,
    user_id: int,
    session: SessionDep,
    admin: AdminActor,
    policies: PoliciesDep,
    data: Annotated[MembershipEnd | None, Body()] = None,
) -> CommitteePublic:
    """End the membership on a day (today when not given); it is kept, with its dates, among the past members."""
    committee = service.get_committee(session, committee_id)
    on = data.ended_on if data else None
    service.end_membership(session, committee, user_id, on=on, by=admin, policies=policies)
    return service.committee_public(session, committee)


@router.post("/committees/{committee_id}/members/{user_id}/reinstate", response_model=CommitteePublic)
def reinstate_member(
    committee_id: int, user_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> CommitteePublic:
    committee = service.get_committee(session, committee_id)
    service.reinstate_member(session, committee, user_id, by=admin, policies=policies)
    return service.committee_public(session, committee)


@router.put("/committees/{committee_id}/members", response_model=CommitteePublic)
def set_member(
    committee_id: int, data: MemberSet, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> CommitteePublic:
    committee = service.get_committee(session, committee_id)
    service.set_member(session, committee, data, by=admin, policies=policies)
    return service.committee_public(session, committee)


@router.delete("/committees/{committee_id}/members/{user_id}", response_model=CommitteePublic)
def remove_member(
    committee_id: int, user_id: int, session: SessionDep, admin: AdminActor, policies: PoliciesDep
) -> CommitteePublic:
    committee = service.get_committee(session, committee_id)
    service.remove_member(session, committee, user_id, by=admin, policies=policies)
    return service.committee_public(session, committee)


@router.get("/programmes", response_model=list[ProgrammePublic])
def list_programmes(session: SessionDep, _actor: CurrentActor) -> list[ProgrammePublic]:
    return service.programmes_public(session, service.list_programmes(session))


@router.post("/programmes", response_model=ProgrammePublic, status_code=status.HTTP_201_CREATED)
def create_programme(data: ProgrammeCreate, session: SessionDep, admin: AdminActor) -> ProgrammePublic:
    return service.programmes_public(session, [service.create_programme(session, data, by=admin)])[0]


@router.post("/programmes/{programme_id}/modules", response_model=ModulePublic, status_code=status.HTTP_201_CREATED)
def add_module(programme_id: int, data: ModuleCreate, session: SessionDep, admin: AdminActor) -> ModulePublic:
    programme = service.get_programme(session, programme_id)
    return ModulePublic.model_validate(service.add_module(session, programme, data, by=admin), from_attributes=True)


@router.put("/programmes/{programme_id}", response_model=ProgrammePublic)
def update_programme(
    programme_id: int, data: ProgrammeUpdate, session: SessionDep, admin: AdminActor
) -> ProgrammePublic:
    programme = service.get_programme(session, programme_id)
    return service.programmes_public(session, [service.update_programme(session, programme, data, by=admin)])[0]


@router.post("/programmes/{programme_id}/deactivate", response_model=ProgrammePublic)
def deactivate_programme(programme_id: int, session: SessionDep, admin: AdminActor) -> ProgrammePublic:
    """Not offered for new unbundled proposals any more; proposals cut from it keep showing it."""
    programme = service.set_programme_active(session, service.get_programme(session, programme_id), False, by=admin)
    return service.programmes_public(session, [programme])[0]


@router.post("/programmes/{programme_id}/reactivate", response_model=ProgrammePublic)
def reactivate_programme(programme_id: int, session: SessionDep, admin: AdminActor) -> ProgrammePublic:
    programme = service.set_programme_active(session, service.get_programme(session, programme_id), True, by=admin)
    return service.programmes_public(session, [programme])[0]


@router.put("/programmes/{programme_id}/modules/{module_id}", response_model=ModulePublic)
def update_module(
    programme_id: int, module_id: int, data: ModuleCreate, session: SessionDep, admin: AdminActor
) -> ModulePublic:
    programme = service.get_programme(session, programme_id)
    module = service.update_module(
        session, programme, service.get_module(session, programme, module_id), data, by=admin
    )
    return ModulePublic.model_validate(module, from_attributes=True)


@router.post("/programmes/{programme_id}/modules/{module_id}/deactivate", response_model=ModulePublic)
def deactivate_module(programme_id: int, module_id: int, session: SessionDep, admin: AdminActor) -> ModulePublic:
    return _set_module_active(session, programme_id, module_id, False, admin)


@router.post("/programmes/{programme_id}/modules/{module_id}/reactivate", response_model=ModulePublic)
def reactivate_module(programme_id: int, module_id: int, session: SessionDep, admin: AdminActor) -> ModulePublic:
    return _set_module_active(session, programme_id, module_id, True, admin)


def _set_module_active(session: Session, programme_id: int, module_id: int, active: bool, admin: Actor) -> ModulePublic:
    programme = service.get_programme(session, programme_id)
    module = service.get_module(session, programme, module_id)
    return ModulePublic.model_validate(
        service.set_module_active(session, programme, module, active, by=admin), from_attributes=True
    )
