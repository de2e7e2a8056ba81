"""The organisation: faculties, committees and their members, programmes and modules.

A change to a committee or its membership can leave a body with nobody who may vote on a proposal waiting for it
(or give one back): each such change ends by letting the approvals re-check who decides the proposals concerned
(``app.approvals.service.committee_changed``), in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from app.approvals import service as approvals
from app.audit import service as audit
from app.errors import Conflict, NotFound, PolicyViolation
from app.org.models import (
    Committee,
    CommitteeCreate,
    CommitteeKind,
    CommitteeMember,
    CommitteePublic,
    MemberPublic,
    MemberSet,
    Module,
    ModuleCreate,
    ModulePublic,
    OrgUnit,
    OrgUnitCreate,
    Programme,
    ProgrammeCreate,
    ProgrammePublic,
)
from app.policies import Policies
from app.security import Actor
from app.users.models import User


def _add_unique(session: Session, row: SQLModel, what: str, field: str) -> None:
    """Add and flush inside a savepoint so a uniqueness clash becomes a clear 409, not a broken transaction."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"{what} already exists.", errors={field: "This value is already in use."}) from None


# --- organisational units ------------------------------------------------------------------------


def list_org_units(session: Session) -> list[OrgUnit]:
    return list(session.exec(select(OrgUnit).order_by(col(OrgUnit.name))))


def require_known_org_unit(session: Session, unit_id: int | None) -> None:
    """Refuse (422, on the field) an owning unit that does not exist, before a foreign key refuses it with a 500."""
    if unit_id is not None and (unit_id <= 0 or session.get(OrgUnit, unit_id) is None):
        raise PolicyViolation(
            f"There is no faculty with id {unit_id}.",
            errors={"org_unit_id": "Unknown faculty: choose one of the list."},
        )


def get_org_unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(f"There is no faculty with id {unit_id}.", errors={"org_unit_id": "Unknown faculty."})
    return unit


def create_org_unit(session: Session, data: OrgUnitCreate, *, by: Actor | None) -> OrgUnit:
    unit = OrgUnit(code=data.code.strip().upper(), name=data.name.strip())
    _add_unique(session, unit, f"A faculty with code {unit.code} or name {unit.name}", "code")
    assert unit.id is not None
    audit.record(
        session,
        actor_id=by.id if by else None,
        entity_type="org_unit",
        entity_id=unit.id,
        action="org_unit.created",
        data=data.model_dump(),
    )
    return unit


# --- committees ----------------------------------------------------------------------------------


def list_committees(session: Session) -> list[Committee]:
    return list(session.exec(select(Committee).order_by(col(Committee.kind), col(Committee.name))))


def get_committee(session: Session, committee_id: int) -> Committee:
    committee = session.get(Committee, committee_id)
    if committee is None:
        raise NotFound(f"There is no committee with id {committee_id}.")
    return committee


def committee_public(session: Session, committee: Committee) -> CommitteePublic:
    return committees_public(session, [committee])[0]


def committees_public(session: Session, committees: list[Committee]) -> list[CommitteePublic]:
    """Committees with their members (chair first), in one query for the members of all of them."""
    members: dict[int, list[MemberPublic]] = {c.id or 0: [] for c in committees}
    if committees:
        rows = session.exec(
            select(CommitteeMember, User)
            .join(User, col(User.id) == CommitteeMember.user_id)
            .where(col(CommitteeMember.committee_id).in_(list(members)))
            .order_by(col(CommitteeMember.is_chair).desc(), col(User.name))
        ).all()
        for m, u in rows:
            members[m.committee_id].append(
                MemberPublic(
                    user_id=u.id or 0,
                    name=u.name,
                    email=u.email,
                    is_chair=m.is_chair,
                    is_learner_representative=m.is_learner_representative,
                )
            )
    return [
        CommitteePublic(
            id=c.id or 0,
            name=c.name,
            kind=CommitteeKind(c.kind),
            org_unit_id=c.org_unit_id,
            members=members[c.id or 0],
        )
        for c in committees
    ]


def create_committee(session: Session, data: CommitteeCreate, *, by: Actor | None, policies: Policies) -> Committee:
    if data.kind is CommitteeKind.faculty_council and data.org_unit_id is None:
        raise PolicyViolation("A faculty council belongs to a faculty.", errors={"org_unit_id": "Choose the faculty."})
    if data.kind is not CommitteeKind.faculty_council and data.org_unit_id is not None:
        raise PolicyViolation(
            "Only a faculty council belongs to a faculty; this kind of body is institution-wide.",
            errors={"org_unit_id": "Leave empty for this kind of body."},
        )
    if data.org_unit_id is not None:
        get_org_unit(session, data.org_unit_id)
        if session.exec(
            select(Committee.id).where(Committee.kind == data.kind.value, Committee.org_unit_id == data.org_unit_id)
        ).first():
            raise Conflict("This faculty already has a council.", errors={"org_unit_id": "Already has a council."})
    elif (
        data.kind is not CommitteeKind.faculty_council
        and session.exec(select(Committee.id).where(Committee.kind == data.kind.value)).first()
    ):
        raise Conflict("There is already a body of this kind.", errors={"kind": "Only one body of this kind exists."})
    committee = Committee(name=data.name.strip(), kind=data.kind.value, org_unit_id=data.org_unit_id)
    _add_unique(session, committee, f"A committee named {committee.name}", "name")
    assert committee.id is not None
    audit.record(
        session,
        actor_id=by.id if by else None,
        entity_type="committee",
        entity_id=committee.id,
        action="committee.created",
        data=data.model_dump(mode="json"),
    )
    approvals.committee_changed(session, committee, policies)
    return committee


def set_member(
    session: Session, committee: Committee, data: MemberSet, *, by: Actor | None, policies: Policies
) -> CommitteeMember:
    """Add a member or change their flags. Making someone chair takes the chair from the previous one."""
    assert committee.id is not None
    if session.get(User, data.user_id) is None:
        raise NotFound(f"There is no user with id {data.user_id}.", errors={"user_id": "Unknown user."})
    member = session.exec(
        select(CommitteeMember).where(
            CommitteeMember.committee_id == committee.id, CommitteeMember.user_id == data.user_id
        )
    ).first()
    if data.is_chair:
        for other in session.exec(
            select(CommitteeMember).where(CommitteeMember.committee_id == committee.id, col(CommitteeMember.is_chair))
        ):
            if other.user_id != data.user_id:
                other.is_chair = False
                session.add(other)
    if member is None:
        member = CommitteeMember(committee_id=committee.id, user_id=data.user_id)
    member.is_chair = data.is_chair
    member.is_learner_representative = data.is_learner_representative
    session.add(member)
    session.flush()
    audit.record(
        session,
        actor_id=by.id if by else None,
        entity_type="committee",
        entity_id=committee.id,
        action="committee.member_set",
        data=data.model_dump(),
    )
    approvals.committee_changed(session, committee, policies)
    return member


def remove_member(session: Session, committee: Committee, user_id: int, *, by: Actor, policies: Policies) -> None:
    member = session.exec(
        select(CommitteeMember).where(CommitteeMember.committee_id == committee.id, CommitteeMember.user_id == user_id)
    ).first()
    if member is None:
        raise NotFound("This person is not a member of the committee.")
    session.delete(member)
    assert committee.id is not None
    audit.record(
        session,
        actor_id=by.id,
        entity_type="committee",
        entity_id=committee.id,
        action="committee.member_removed",
        data={"user_id": user_id},
    )
    session.flush()
    approvals.committee_changed(session, committee, policies)


# --- programmes and modules ----------------------------------------------------------------------


def list_programmes(session: Session) -> list[Programme]:
    return list(session.exec(select(Programme).order_by(col(Programme.name))))


def get_programme(session: Session, programme_id: int) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFound(f"There is no programme with id {programme_id}.")
    return programme


def modules_of(session: Session, programme_ids: list[int]) -> dict[int, list[Module]]:
    result: dict[int, list[Module]] = {pid: [] for pid in programme_ids}
    if programme_ids:
        for module in session.exec(
            select(Module).where(col(Module.programme_id).in_(programme_ids)).order_by(col(Module.code))
        ):
            result[module.programme_id].append(module)
    return result


def programmes_public(session: Session, programmes: list[Programme]) -> list[ProgrammePublic]:
    modules = modules_of(session, [p.id for p in programmes if p.id is not None])
    return [
        ProgrammePublic(
            **p.model_dump(exclude={"created_at"}),
            modules=[ModulePublic.model_validate(m, from_attributes=True) for m in modules.get(p.id or 0, [])],
        )
        for p in programmes
    ]


def create_programme(session: Session, data: ProgrammeCreate, *, by: Actor | None) -> Programme:
    get_org_unit(session, data.org_unit_id)
    programme = Programme(**data.model_dump())
    programme.code = programme.code.strip().upper()
    _add_unique(session, programme, f"A programme with code {programme.code}", "code")
    assert programme.id is not None
    audit.record(
        session,
        actor_id=by.id if by else None,
        entity_type="programme",
        entity_id=programme.id,
        action="programme.created",
        data=data.model_dump(),
    )
    return programme


def add_module(session: Session, programme: Programme, data: ModuleCreate, *, by: Actor | None) -> Module:
    assert programme.id is not None
    module = Module(programme_id=programme.id, code=data.code.strip().upper(), name=data.name.strip(), ects=data.ects)
    _add_unique(session, module, f"Module {module.code} in this programme", "code")
    audit.record(
        session,
        actor_id=by.id if by else None,
        entity_type="programme",
        entity_id=programme.id,
        action="programme.module_added",
        data=data.model_dump(),
    )
    return module
