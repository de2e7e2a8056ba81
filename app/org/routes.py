"""JSON API for faculties, committees and memberships, programmes and modules."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.db import SessionDep
from app.org import service
from app.org.models import (
    CommitteeCreate,
    CommitteePublic,
    MemberSet,
    ModuleCreate,
    ModulePublic,
    OrgUnitCreate,
    OrgUnitPublic,
    ProgrammeCreate,
    ProgrammePublic,
)
from app.policies import PoliciesDep
from app.security import AdminActor, CurrentActor

router = APIRouter(tags=["organisation"])


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
