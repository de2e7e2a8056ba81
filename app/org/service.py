"""The organisation: faculties, committees and their members, programmes and modules.

A change to a committee or its membership, or to a member's account (deactivated or activated again), can leave a
body with nobody who may vote on a proposal waiting for it (or give one back): each such change ends by letting the
approvals re-check who decides the proposals concerned (``app.approvals.service.committee_changed``), in the same
transaction.

Nothing here deletes history: a committee, programme or module is deactivated (offered nowhere new, kept with
its votes, decisions and proposals), a membership ends on a date and can be reinstated (``membership_current`` in
app/org/models.py says who counts today: by the dates, with an active account), and every change writes an audit
row with the values before and after, which the admin pages show as the change history.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from app.approvals import service as approvals
from app.approvals.models import Decision, Vote
from app.audit import service as audit
from app.audit.timeline import Timeline, timeline
from app.db import utcnow
from app.errors import Conflict, NotFound, PolicyViolation
from app.org.models import (
    Committee,
    CommitteeCreate,
    CommitteeKind,
    CommitteeMember,
    CommitteePublic,
    CommitteeUpdate,
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
    ProgrammeUpdate,
    membership_dated,
)
from app.policies import Policies
from app.proposals.models import Proposal
from app.security import Actor
from app.users.models import User
from app.workflows.approval import REVIEW_STATES


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
    past: dict[int, list[MemberPublic]] = {c.id or 0: [] for c in committees}
    if committees:
        rows = session.exec(
            select(CommitteeMember, User, membership_dated())
            .join(User, col(User.id) == CommitteeMember.user_id)
            .where(col(CommitteeMember.committee_id).in_(list(members)))
            .order_by(
                col(CommitteeMember.is_chair).desc(), col(CommitteeMember.ended_on).desc().nulls_last(), col(User.name)
            )
        ).all()
        for m, u, current in rows:
            (members if current else past)[m.committee_id].append(
                MemberPublic(
                    user_id=u.id or 0,
                    name=u.name,
                    email=u.email,
                    is_chair=m.is_chair,
                    is_learner_representative=m.is_learner_representative,
                    started_on=m.started_on,
                    ended_on=m.ended_on,
                    account_active=u.is_active,
                )
            )
    return [
        CommitteePublic(
            id=c.id or 0,
            name=c.name,
            kind=CommitteeKind(c.kind),
            org_unit_id=c.org_unit_id,
            is_active=c.is_active,
            members=members[c.id or 0],
            past_members=past[c.id or 0],
        )
        for c in committees
    ]


def _check_place(session: Session, kind: CommitteeKind, org_unit_id: int | None, *, other_than: int | None) -> None:
    """A faculty council belongs to a faculty, other bodies are institution-wide, and each place has one active
    body (deactivated ones stay in history and do not count)."""
    if kind is CommitteeKind.faculty_council and org_unit_id is None:
        raise PolicyViolation("A faculty council belongs to a faculty.", errors={"org_unit_id": "Choose the faculty."})
    if kind is not CommitteeKind.faculty_council and org_unit_id is not None:
        raise PolicyViolation(
            "Only a faculty council belongs to a faculty; this kind of body is institution-wide.",
            errors={"org_unit_id": "Leave empty for this kind of body."},
        )
    same_place = select(Committee.name).where(
        Committee.kind == kind.value, col(Committee.is_active), col(Committee.id) != (other_than or 0)
    )
    if org_unit_id is not None:
        get_org_unit(session, org_unit_id)
        if (name := session.exec(same_place.where(Committee.org_unit_id == org_unit_id)).first()) is not None:
            raise Conflict(
                f"This faculty already has an active council, {name}.", errors={"org_unit_id": "Already has a council."}
            )
    elif (name := session.exec(same_place).first()) is not None:
        raise Conflict(
            f"There is already an active body of this kind, {name}.",
            errors={"kind": "Only one active body of this kind exists."},
        )


def create_committee(session: Session, data: CommitteeCreate, *, by: Actor | None, policies: Policies) -> Committee:
    _check_place(session, data.kind, data.org_unit_id, other_than=None)
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
        member = CommitteeMember(committee_id=committee.id, user_id=data.user_id, started_on=_today())
    elif not _is_current(session, member):  # a past member added again: their membership starts anew
        member.started_on, member.ended_on = _today(), None
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


def _today() -> date:
    return utcnow().date()


def _changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The audit comment of an edit: each changed field, before → after."""
    return "; ".join(f"{k}: {before[k]} → {after[k]}" for k in after if before.get(k) != after[k])


def _record_change(
    session: Session,
    by: Actor | None,
    entity: tuple[str, int],
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    comment: str = "",
) -> None:
    """An audit row with what the row looked like before and after the change."""
    audit.record(
        session,
        actor_id=by.id if by else None,
        entity_type=entity[0],
        entity_id=entity[1],
        action=action,
        comment=comment or _changes(before, after),
        data={"before": before, "after": after},
    )


def _member(session: Session, committee: Committee, user_id: int) -> CommitteeMember | None:
    return session.exec(
        select(CommitteeMember).where(CommitteeMember.committee_id == committee.id, CommitteeMember.user_id == user_id)
    ).first()


def _committee_facts(session: Session, committee: Committee) -> dict[str, Any]:
    chair = session.exec(
        select(CommitteeMember.user_id).where(
            CommitteeMember.committee_id == committee.id, col(CommitteeMember.is_chair), membership_dated()
        )
    ).first()
    return {
        "name": committee.name,
        "kind": committee.kind,
        "org_unit_id": committee.org_unit_id,
        "chair_user_id": chair,
        "is_active": committee.is_active,
    }


def awaiting(session: Session, committee: Committee) -> list[Proposal]:
    """The proposals waiting for this committee's decision: it stands in for their body, or it is their body's
    committee and no other body stands in."""
    own_body = (col(Proposal.current_body) == committee.kind) & col(Proposal.deciding_committee_id).is_(None)
    if committee.kind == CommitteeKind.faculty_council:
        own_body &= col(Proposal.org_unit_id) == committee.org_unit_id
    return list(
        session.exec(
            select(Proposal)
            .where(
                col(Proposal.status).in_(sorted(REVIEW_STATES)),
                (col(Proposal.deciding_committee_id) == committee.id) | own_body,
            )
            .order_by(col(Proposal.id))
        )
    )


def _titles(proposals: list[Proposal]) -> str:
    return ", ".join(f"“{p.title or 'Untitled'}” (#{p.id})" for p in proposals)


def update_committee(
    session: Session, committee: Committee, data: CommitteeUpdate, *, by: Actor | None, policies: Policies
) -> Committee:
    """Rename a committee, name its chair (a current member, or none), and change its kind or faculty while that
    is safe: it has decided nothing yet and no proposal waits for it (else past decisions would change body)."""
    assert committee.id is not None
    before = _committee_facts(session, committee)
    moved = data.kind.value != committee.kind or data.org_unit_id != committee.org_unit_id
    if moved:
        _check_place(session, data.kind, data.org_unit_id, other_than=committee.id)
        if (waiting := awaiting(session, committee)) or _has_decided(session, committee.id):
            why = f"proposals wait for it: {_titles(waiting)}" if waiting else "it has voted on proposals"
            raise Conflict(
                f"The kind and faculty of {committee.name} cannot change because {why}. "
                "Deactivate it and create a new body instead.",
                errors={"kind": "Cannot change any more.", "org_unit_id": "Cannot change any more."},
            )
    if data.chair_user_id is not None:
        chair = _member(session, committee, data.chair_user_id)
        if chair is None or not _is_current(session, chair):
            raise PolicyViolation(
                "The chair must be a current member of the committee.",
                errors={"chair_user_id": "Choose one of the current members."},
            )
    for member in session.exec(select(CommitteeMember).where(CommitteeMember.committee_id == committee.id)):
        if member.is_chair != (member.user_id == data.chair_user_id):
            member.is_chair = member.user_id == data.chair_user_id
            session.add(member)
    committee.name, committee.kind, committee.org_unit_id = data.name, data.kind.value, data.org_unit_id
    _add_unique(session, committee, f"A committee named {committee.name}", "name")
    after = _committee_facts(session, committee)
    if after != before:
        _record_change(session, by, ("committee", committee.id), "committee.edited", before, after)
        approvals.committee_changed(session, committee, policies)
    return committee


def _has_decided(session: Session, committee_id: int) -> bool:
    votes = select(Vote.id).where(Vote.committee_id == committee_id)
    decisions = select(Decision.id).where(Decision.committee_id == committee_id)
    return session.exec(votes).first() is not None or session.exec(decisions).first() is not None


def _is_current(session: Session, member: CommitteeMember) -> bool:
    return (
        session.exec(select(CommitteeMember.id).where(CommitteeMember.id == member.id, membership_dated())).first()
        is not None
    )


def account_activity_changed(session: Session, user_id: int, policies: Policies) -> None:
    """After a person's account was deactivated or activated again: each body they sit on has a member fewer (or
    more) who counts, as when a membership ends (``membership_current``): the proposals it decides are looked at."""
    sits_on = select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user_id, membership_dated())
    for committee in session.exec(select(Committee).where(col(Committee.id).in_(sits_on)).order_by(col(Committee.id))):
        approvals.committee_changed(session, committee, policies)


def set_committee_active(
    session: Session, committee: Committee, active: bool, *, by: Actor | None, policies: Policies
) -> Committee:
    """Deactivate a committee (it decides nothing more, is offered nowhere, and stays in history with its votes
    and decisions) or reactivate it.

    A committee that proposals are waiting for is not deactivated: the refusal (409) names them, so that they are
    decided, or reassigned, first. Once deactivated, a proposal reaching its body finds no committee and the
    ``when_no_eligible_voter`` substitute of policies/approval.yaml takes over (the QA office is told), until an
    active committee exists for that body again. Reactivation is refused while another active body holds its place.
    """
    assert committee.id is not None
    if committee.is_active == active:
        return committee
    if active:
        _check_place(session, CommitteeKind(committee.kind), committee.org_unit_id, other_than=committee.id)
    elif waiting := awaiting(session, committee):
        raise Conflict(
            f"{committee.name} cannot be deactivated: {len(waiting)} proposal{'s' if len(waiting) != 1 else ''} "
            f"{'wait' if len(waiting) != 1 else 'waits'} for its decision: {_titles(waiting)}. "
            "Let it decide them, or have them reassigned, first.",
            errors={"proposals": _titles(waiting)},
        )
    before = _committee_facts(session, committee)
    committee.is_active = active
    session.add(committee)
    session.flush()
    action = "committee.reactivated" if active else "committee.deactivated"
    _record_change(session, by, ("committee", committee.id), action, before, _committee_facts(session, committee))
    approvals.committee_changed(session, committee, policies)
    return committee


def end_membership(
    session: Session,
    committee: Committee,
    user_id: int,
    *,
    on: date | None = None,
    by: Actor | None,
    policies: Policies,
) -> CommitteeMember:
    """End a membership on a day (today when not given): from then on the person no longer votes, chairs or sees
    the committee's queue. The membership is kept with its dates, and the votes already cast stay on record.
    An end date in the future only takes effect on that day; the chair is handed back at once."""
    assert committee.id is not None
    member = _member(session, committee, user_id)
    if member is None or not _is_current(session, member):
        raise NotFound("This person is not a member of the committee.", errors={"user_id": "Not a member."})
    ends = on or _today()
    if member.started_on is not None and ends < member.started_on:
        raise PolicyViolation(
            f"The membership started on {member.started_on:%Y-%m-%d}; it cannot end before that.",
            errors={"ended_on": "Choose a day on or after the start of the membership."},
        )
    before = {"ended_on": None, "is_chair": member.is_chair}
    member.ended_on, member.is_chair = ends, False
    session.add(member)
    session.flush()
    _record_change(
        session,
        by,
        ("committee", committee.id),
        "committee.membership_ended",
        {"user_id": user_id, **before},
        {"user_id": user_id, "ended_on": ends.isoformat(), "is_chair": False},
    )
    approvals.committee_changed(session, committee, policies)
    return member


def reinstate_member(
    session: Session, committee: Committee, user_id: int, *, by: Actor | None, policies: Policies
) -> CommitteeMember:
    """Give a past member their seat back (without the chair): their membership starts anew today."""
    assert committee.id is not None
    member = _member(session, committee, user_id)
    if member is None or member.ended_on is None:
        raise NotFound("This person is not a past member of the committee.", errors={"user_id": "Not a past member."})
    before = {"user_id": user_id, "started_on": _iso(member.started_on), "ended_on": _iso(member.ended_on)}
    member.started_on, member.ended_on = _today(), None
    session.add(member)
    session.flush()
    after = {"user_id": user_id, "started_on": _iso(member.started_on), "ended_on": None}
    _record_change(session, by, ("committee", committee.id), "committee.member_reinstated", before, after)
    approvals.committee_changed(session, committee, policies)
    return member


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def remove_member(session: Session, committee: Committee, user_id: int, *, by: Actor, policies: Policies) -> None:
    """Take someone off a committee today: their membership ends and is kept as history."""
    end_membership(session, committee, user_id, by=by, policies=policies)


def committee_history(session: Session, committee: Committee, newest: int | None = None) -> Timeline:
    assert committee.id is not None
    return timeline(session, [("committee", committee.id)], newest=newest)


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


def _as_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def offered_programmes(
    session: Session, chosen_programme: Any = None, chosen_module: Any = None
) -> tuple[list[Programme], dict[int, list[Module]]]:
    """The programmes (by name) and their modules a proposal form offers: the active ones, and the ones the proposal
    already names however deactivated (an existing proposal keeps showing them)."""
    programme_id, module_id = _as_id(chosen_programme), _as_id(chosen_module)
    programmes = [p for p in list_programmes(session) if p.is_active or p.id == programme_id]
    modules = modules_of(session, [p.id for p in programmes if p.id is not None])
    return programmes, {pid: [m for m in ms if m.is_active or m.id == module_id] for pid, ms in modules.items()}


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


def _programme_facts(programme: Programme) -> dict[str, Any]:
    return programme.model_dump(include={"code", "name", "eqf_level", "ects", "is_active"})


def update_programme(session: Session, programme: Programme, data: ProgrammeUpdate, *, by: Actor | None) -> Programme:
    """Change a programme's code, name, EQF level and credits. Proposals cut from it show the new name."""
    assert programme.id is not None
    before = _programme_facts(programme)
    programme.sqlmodel_update(data.model_dump())
    programme.code = programme.code.upper()
    _add_unique(session, programme, f"A programme with code {programme.code}", "code")
    if (after := _programme_facts(programme)) != before:
        _record_change(session, by, ("programme", programme.id), "programme.edited", before, after)
    return programme


def set_programme_active(session: Session, programme: Programme, active: bool, *, by: Actor | None) -> Programme:
    """Deactivate a programme (not offered for new unbundled proposals; proposals cut from it keep showing it) or
    reactivate it."""
    assert programme.id is not None
    if programme.is_active != active:
        before = _programme_facts(programme)
        programme.is_active = active
        session.add(programme)
        session.flush()
        action = "programme.reactivated" if active else "programme.deactivated"
        _record_change(session, by, ("programme", programme.id), action, before, _programme_facts(programme))
    return programme


def get_module(session: Session, programme: Programme, module_id: int) -> Module:
    module = session.get(Module, module_id)
    if module is None or module.programme_id != programme.id:
        raise NotFound(f"There is no module with id {module_id} in {programme.code}.")
    return module


def _module_facts(module: Module) -> dict[str, Any]:
    return module.model_dump(include={"code", "name", "ects", "is_active"})


def update_module(
    session: Session, programme: Programme, module: Module, data: ModuleCreate, *, by: Actor | None
) -> Module:
    assert programme.id is not None
    before = _module_facts(module)
    module.code, module.name, module.ects = data.code.upper(), data.name, data.ects
    _add_unique(session, module, f"Module {module.code} in this programme", "code")
    if (after := _module_facts(module)) != before:
        comment = f"module {before['code']}: {_changes(before, after)}"
        _record_change(session, by, ("programme", programme.id), "programme.module_edited", before, after, comment)
    return module


def set_module_active(
    session: Session, programme: Programme, module: Module, active: bool, *, by: Actor | None
) -> Module:
    assert programme.id is not None
    if module.is_active != active:
        before = _module_facts(module)
        module.is_active = active
        session.add(module)
        session.flush()
        action = "programme.module_reactivated" if active else "programme.module_deactivated"
        _record_change(
            session, by, ("programme", programme.id), action, before, _module_facts(module), f"module {module.code}"
        )
    return module


def programme_history(session: Session, programme: Programme, newest: int | None = None) -> Timeline:
    assert programme.id is not None
    return timeline(session, [("programme", programme.id)], newest=newest)
