"""Read-side lists: what awaits a member's decision, and the QA office's pipeline. A page of rows is one statement
(owner, faculty, open conditions and votes joined in), whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlalchemy import select as sa_select
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


def _page(
    session: Session, where: list[ColumnElement[bool]], *, offset: int, limit: int, now: datetime, counted: bool
) -> tuple[list[Row], int | None]:
    """One statement for a page of rows with their owner, faculty, open conditions and votes of the current round
    (and, when ``counted``, the number of all matching rows), oldest in stage first."""
    open_conditions = (
        sa_select(func.count())
        .where(col(Condition.proposal_id) == Proposal.id, col(Condition.status) != "confirmed")
        .correlate(Proposal)
        .scalar_subquery()
    )
    votes = (
        sa_select(func.count())
        .where(col(Vote.proposal_id) == Proposal.id, col(Vote.review_round) == Proposal.review_round)
        .correlate(Proposal)
        .scalar_subquery()
    )
    columns: list[Any] = [Proposal, User.name, OrgUnit.name, open_conditions, votes]
    if counted:
        columns.append(func.count().over())
    stmt = (
        sa_select(*columns)
        .join(User, col(User.id) == Proposal.owner_id)
        .join(OrgUnit, col(OrgUnit.id) == Proposal.org_unit_id)
        .options(defer(Proposal.content))  # type: ignore[arg-type]  # lists never show the elements
        .where(*where)
        .order_by(col(Proposal.stage_entered_at), col(Proposal.id))
        .offset(offset)
        .limit(limit)
    )
    result = session.execute(stmt).all()
    rows = [
        Row(
            proposal=r[0],
            owner_name=r[1],
            faculty=r[2],
            days_in_stage=max(0, (now - r[0].stage_entered_at).days),
            open_conditions=r[3],
            votes_cast=r[4],
        )
        for r in result
    ]
    total = int(result[0][5]) if counted and result else None
    return rows, total


def awaiting(session: Session, actor: Actor, *, offset: int, limit: int, now: datetime) -> tuple[list[Row], int]:
    where = _awaiting_filter(actor)
    rows, total = _page(session, [where], offset=offset, limit=limit, now=now, counted=True)
    if total is None:  # an empty page: count separately (zero, or an offset past the end)
        total = session.exec(select(func.count()).select_from(Proposal).where(where)).one()
    return rows, total


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
    rows, _ = _page(session, where, offset=offset, limit=limit, now=now, counted=False)
    return rows, total, counts
