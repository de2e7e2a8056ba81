"""Substitutes: a member names someone who acts on their queue for a period, for example during leave.

Rules (the one place they are written):

- A member names their own substitute; an administrator may name one for any member (the way to move a stuck
  member's queue to someone else). The period runs from ``starts_on`` to ``ends_on``, both days included, and a
  member has at most one substitute at a time (periods of live delegations do not overlap).
- During the period the substitute holds the member's seat in each of the member's committees (``load_actor``
  adds those seats): they see the proposals the member sees, find them under "Awaiting my decision" and vote.
- A substitute casts the *absent member's* ballot: the vote is stored under the member (one seat, one ballot;
  whichever of the two votes last counts), and the audit row names the substitute and says "X for Y". Nobody
  can vote twice: a substitute who sits on a committee in their own right gets no second seat there (and may
  not be named for a member who shares a committee with them); standing in for two members of one committee
  gives one seat.
- A proposer or co-proposer never votes on their own proposal, as a member or as a substitute, and the seat of
  a member who proposed it does not vote on it either.
- Naming, changing and ending a delegation is audited (entity ``delegation``) and the member and the substitute
  are told through the outbox (``DelegationChanged``, heard by ``app.committees.notices``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.committees.models import Delegation
from app.db import utcnow
from app.errors import NotFound, PermissionDenied, PolicyViolation
from app.org.models import CommitteeMember
from app.security import Actor
from app.users.models import User
from app.workflows import core


@dataclass(frozen=True)
class DelegationChanged:
    """Announced when a delegation is named or ended, so that both people hear of it."""

    session: Session
    delegation: Delegation
    member: User
    substitute: User
    by: Actor
    action: str  # "named" or "ended"


@dataclass(frozen=True)
class DelegationView:
    delegation: Delegation
    member_name: str
    substitute_name: str

    @property
    def live(self) -> bool:
        return self.delegation.revoked_at is None and self.delegation.ends_on >= utcnow().date()

    @property
    def current(self) -> bool:
        today = utcnow().date()
        return self.live and self.delegation.starts_on <= today


def _user(session: Session, user_id: int, what: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise PolicyViolation(f"There is no active account for the {what}.", errors={f"{what}_id": "Choose a person."})
    return user


def _committees(session: Session, user_id: int) -> set[int]:
    return set(session.exec(select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user_id)))


def name_substitute(
    session: Session,
    actor: Actor,
    *,
    member_id: int,
    substitute_id: int,
    starts_on: date,
    ends_on: date,
    reason: str = "",
) -> Delegation:
    """Record a substitute for the member over the period; refuse what would let anyone vote twice."""
    if member_id != actor.id and not actor.is_admin:
        raise PermissionDenied("You can name a substitute for yourself only; an administrator can for anyone.")
    reason = reason.strip()
    if len(reason) > 300:
        raise PolicyViolation("The reason is too long (300 characters at most).", errors={"reason": "Shorten it."})
    if ends_on < starts_on:
        raise PolicyViolation("The period must end on or after its first day.", errors={"ends_on": "Too early."})
    if ends_on < utcnow().date():
        raise PolicyViolation(
            "The period is over already: choose a last day from today on.", errors={"ends_on": "Past."}
        )
    if substitute_id == member_id:
        raise PolicyViolation("Choose someone else as the substitute.", errors={"substitute_id": "Not yourself."})
    member = _user(session, member_id, "member")
    substitute = _user(session, substitute_id, "substitute")
    seats = _committees(session, member_id)
    if not seats:
        raise PolicyViolation(f"{member.name} sits on no committee: there is nothing to stand in for.")
    if seats & _committees(session, substitute_id):
        raise PolicyViolation(
            f"{substitute.name} sits on a committee with {member.name} and votes there already: "
            "choose someone outside it (nobody casts two ballots).",
            errors={"substitute_id": "Shares a committee with the member."},
        )
    overlapping = session.exec(
        select(Delegation.id).where(
            Delegation.member_id == member_id,
            col(Delegation.revoked_at).is_(None),
            Delegation.starts_on <= ends_on,
            Delegation.ends_on >= starts_on,
        )
    ).first()
    if overlapping is not None:
        raise PolicyViolation(
            f"{member.name} has a substitute for part of this period already: end that one first.",
            errors={"starts_on": "Overlaps another substitute's period."},
        )
    delegation = Delegation(
        member_id=member_id,
        substitute_id=substitute_id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by_id=actor.id,
    )
    session.add(delegation)
    session.flush()
    _audit(session, delegation, actor, "delegation.named", member, substitute)
    core.announce(DelegationChanged(session, delegation, member, substitute, actor, "named"))
    return delegation


def end_delegation(session: Session, delegation_id: int, actor: Actor) -> Delegation:
    """End a delegation now (the member, the substitute or an administrator)."""
    delegation = session.get(Delegation, delegation_id)
    if delegation is None or not _may_see(delegation, actor):
        raise NotFound(f"There is no substitute arrangement {delegation_id} that you can see.")
    if delegation.revoked_at is not None:
        return delegation  # ended already: nothing changes
    delegation.revoked_at = utcnow()
    session.add(delegation)
    member = _user(session, delegation.member_id, "member")
    substitute = session.get(User, delegation.substitute_id)
    assert substitute is not None
    _audit(session, delegation, actor, "delegation.ended", member, substitute)
    core.announce(DelegationChanged(session, delegation, member, substitute, actor, "ended"))
    session.flush()
    return delegation


def _may_see(delegation: Delegation, actor: Actor) -> bool:
    return actor.is_admin or actor.id in (delegation.member_id, delegation.substitute_id)


def _audit(session: Session, d: Delegation, actor: Actor, action: str, member: User, substitute: User) -> None:
    assert d.id is not None
    audit.record(
        session,
        actor_id=actor.id,
        actor_role="administrator" if actor.id != d.member_id and actor.is_admin else "member",
        entity_type="delegation",
        entity_id=d.id,
        action=action,
        comment=f"{substitute.name} for {member.name}, {d.starts_on.isoformat()} to {d.ends_on.isoformat()}"
        + (f": {d.reason}" if d.reason else ""),
        data={
            "member_id": d.member_id,
            "substitute_id": d.substitute_id,
            "starts_on": d.starts_on.isoformat(),
            "ends_on": d.ends_on.isoformat(),
        },
    )


def delegations_of(session: Session, actor: Actor, *, everyone: bool = False) -> list[DelegationView]:
    """The delegations the person gave or holds (every one, for an administrator asking for all), newest first."""
    substitute = select(User.id, User.name).subquery()
    stmt = (
        select(Delegation, User.name, substitute.c.name)
        .join(User, col(User.id) == Delegation.member_id)
        .join(substitute, substitute.c.id == Delegation.substitute_id)
        .order_by(col(Delegation.starts_on).desc(), col(Delegation.id).desc())
    )
    if not (everyone and actor.is_admin):
        stmt = stmt.where((col(Delegation.member_id) == actor.id) | (col(Delegation.substitute_id) == actor.id))
    return [DelegationView(d, m, s) for d, m, s in session.exec(stmt)]


def get_delegation(session: Session, delegation_id: int, actor: Actor) -> DelegationView:
    found = next((v for v in delegations_of(session, actor, everyone=True) if v.delegation.id == delegation_id), None)
    if found is None:
        raise NotFound(f"There is no substitute arrangement {delegation_id} that you can see.")
    return found
