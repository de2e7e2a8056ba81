"""Read-side lists: what awaits a member's decision, and the QA office's pipeline. Each list is one query for
its rows plus one per related table, whatever the page size (no per-row queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.credentials.models import Condition, CoProposer, Proposal, Vote
from app.credentials.service import REVIEW_STATES
from app.org.models import CommitteeKind, OrgUnit
from app.security import Actor
from app.users.models import User


def _awaiting_filter(actor: Actor) -> ColumnElement[bool]:
    """Proposals now before one of the actor's bodies, not their own, without their vote in this round."""
    bodies = []
    for m in actor.memberships:
        clause: ColumnElement[bool] = col(Proposal.current_body) == m.kind.value
        if m.kind is CommitteeKind.faculty_council:
            clause = and_(clause, col(Proposal.org_unit_id) == m.org_unit_id)
        bodies.append(clause)
    if not bodies:
        return false()
    voted = select(Vote.proposal_id).where(
        Vote.voter_id == actor.id, Vote.proposal_id == Proposal.id, Vote.review_round == Proposal.review_round
    )
    mine = select(CoProposer.proposal_id).where(CoProposer.user_id == actor.id)
    return and_(
        col(Proposal.status).in_(REVIEW_STATES),
        or_(*bodies),
        col(Proposal.owner_id) != actor.id,
        col(Proposal.id).not_in(mine),
        ~voted.exists(),
    )


def awaiting_count(session: Session, actor: Actor) -> int:
    if not actor.memberships:
        return 0
    return session.exec(select(func.count()).select_from(Proposal).where(_awaiting_filter(actor))).one()


@dataclass
class Row:
    proposal: Proposal
    owner_name: str
    faculty: str
    days_in_stage: int
    open_conditions: int
    votes_cast: int


def _rows(session: Session, proposals: list[Proposal], now: datetime) -> list[Row]:
    ids = [p.id for p in proposals if p.id is not None]
    owners = {p.owner_id for p in proposals}
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(owners))).all()) if owners else {}
    faculties = dict(session.exec(select(OrgUnit.id, OrgUnit.name)).all())
    open_conditions: dict[int, int] = {}
    votes: dict[int, int] = {}
    if ids:
        open_conditions = dict(
            session.exec(
                select(Condition.proposal_id, func.count())
                .where(col(Condition.proposal_id).in_(ids), Condition.status != "confirmed")
                .group_by(col(Condition.proposal_id))
            ).all()
        )
        votes = dict(
            session.exec(
                select(Vote.proposal_id, func.count())
                .join(Proposal, col(Proposal.id) == Vote.proposal_id)
                .where(col(Vote.proposal_id).in_(ids), Vote.review_round == Proposal.review_round)
                .group_by(col(Vote.proposal_id))
            ).all()
        )
    return [
        Row(
            proposal=p,
            owner_name=names.get(p.owner_id, "?"),
            faculty=faculties.get(p.org_unit_id, "?"),
            days_in_stage=max(0, (now - p.stage_entered_at).days),
            open_conditions=open_conditions.get(p.id or 0, 0),
            votes_cast=votes.get(p.id or 0, 0),
        )
        for p in proposals
    ]


def awaiting(session: Session, actor: Actor, *, offset: int, limit: int, now: datetime) -> tuple[list[Row], int]:
    where = _awaiting_filter(actor)
    total = session.exec(select(func.count()).select_from(Proposal).where(where)).one()
    proposals = session.exec(
        select(Proposal)
        .options(defer(Proposal.content))  # type: ignore[arg-type]  # lists never show the elements
        .where(where)
        .order_by(col(Proposal.stage_entered_at), col(Proposal.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return _rows(session, list(proposals), now), total


@dataclass(frozen=True)
class PipelineFilter:
    status: str | None = None
    org_unit_id: int | None = None
    kind: str | None = None
    with_open_conditions: bool = False
    q: str = ""


def pipeline(
    session: Session, filters: PipelineFilter, *, offset: int, limit: int, now: datetime
) -> tuple[list[Row], int, dict[str, int]]:
    """Every proposal not yet finished (and published ones with open conditions), oldest in stage first.
    Also returns the count per status for the stage summary."""
    active = col(Proposal.status).not_in(["published", "rejected", "withdrawn"])
    # Uncorrelated IN: evaluated once (a hashed subplan on PostgreSQL), not once per proposal row.
    has_open = col(Proposal.id).in_(select(Condition.proposal_id).where(Condition.status != "confirmed"))
    where: list[ColumnElement[bool]] = [or_(active, has_open)]
    if filters.org_unit_id:
        where.append(col(Proposal.org_unit_id) == filters.org_unit_id)
    if filters.kind:
        where.append(col(Proposal.kind) == filters.kind)
    if filters.with_open_conditions:
        where.append(has_open)
    if filters.q:
        where.append(col(Proposal.title).ilike(f"%{filters.q}%"))
    counts = dict(
        session.exec(select(Proposal.status, func.count()).where(*where).group_by(col(Proposal.status))).all()
    )
    if filters.status:
        where.append(col(Proposal.status) == filters.status)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    proposals = session.exec(
        select(Proposal)
        .options(defer(Proposal.content))  # type: ignore[arg-type]
        .where(*where)
        .order_by(col(Proposal.stage_entered_at), col(Proposal.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return _rows(session, list(proposals), now), total, counts
