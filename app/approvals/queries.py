"""Read-side lists: what awaits a member's decision, and the QA office's pipeline.

A page of rows is one statement (owner, faculty, open conditions and votes of the current round joined in),
whatever the page size, run as plain Core on the session's connection (no ORM objects, no ORM execution layer).
The statements are built once per *shape* (which filters are present, which bodies the member sits on) with
bound parameters for the values, so a request only binds values to a statement SQLAlchemy has already compiled:
these lists are the busiest pages.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, false, func, or_, text, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session, col

from app.approvals.models import Condition, Vote
from app.db import version_memo
from app.org.models import Committee, CommitteeKind, OrgUnit
from app.proposals.models import NOT_FINISHED_SQL, CoProposer, Proposal
from app.security import Actor
from app.users.models import User
from app.workflows.approval import REVIEW_STATES
from app.workflows.conditions import ConditionStatus


def overdue_days(due_at: datetime, now: datetime) -> int:
    """Whole days past a due date, a day begun counting as one (0 while it is not past)."""
    late = now - due_at
    return 0 if late <= timedelta(0) else -(-late // timedelta(days=1))


@dataclass(frozen=True)
class Row:
    id: int
    title: str
    kind: str
    status: str
    current_body: str | None
    owner_name: str
    faculty: str
    days_in_stage: int
    open_conditions: int
    votes_cast: int
    due_at: datetime | None  # when the body deciding now is due to have decided
    overdue_days: int
    decided_by: str | None  # the committee deciding instead of the body's own (nobody in it may vote)


# --- awaiting my decision ------------------------------------------------------------------------

Shape = tuple[tuple[str, bool], ...]  # (body kind, restricted to the member's faculty) per membership


def _shape(actor: Actor) -> tuple[Shape, dict[str, Any]]:
    shape = tuple((m.kind.value, m.kind is CommitteeKind.faculty_council) for m in actor.memberships)
    params: dict[str, Any] = {"actor_id": actor.id}
    params.update({f"unit_{i}": m.org_unit_id for i, m in enumerate(actor.memberships)})
    params.update({f"committee_{i}": m.committee_id for i, m in enumerate(actor.memberships)})
    # Whose ballot the seat casts: the actor's own, or the absent member's they stand in for (a delegation).
    params.update({f"voter_{i}": m.substitute_for or actor.id for i, m in enumerate(actor.memberships)})
    return shape, params


@lru_cache(maxsize=128)
def _awaiting_where(shape: Shape) -> ColumnElement[bool]:
    """Proposals now decided by one of the actor's committees (as the body itself, or standing in for a body
    nobody in which may vote), not their own, without a ballot of that seat in this round. A substitute's seat
    is the absent member's: their ballot, and their own proposals left out as well as the substitute's."""
    if not shape:
        return false()
    seats = []
    for i, (kind, per_faculty) in enumerate(shape):
        body: ColumnElement[bool] = col(Proposal.current_body) == kind
        if per_faculty:
            body = and_(body, col(Proposal.org_unit_id) == bindparam(f"unit_{i}"))
        voter: BindParameter[int] = bindparam(f"voter_{i}")
        # Uncorrelated: the seat's (proposal, round) pairs are read once from ix_vote_voter and hashed.
        voted = sa_select(col(Vote.proposal_id), col(Vote.review_round)).where(col(Vote.voter_id) == voter)
        theirs = sa_select(col(CoProposer.proposal_id)).where(col(CoProposer.user_id) == voter)
        seats.append(
            and_(
                or_(
                    and_(body, col(Proposal.deciding_committee_id).is_(None)),
                    col(Proposal.deciding_committee_id) == bindparam(f"committee_{i}"),
                ),
                col(Proposal.owner_id) != voter,
                col(Proposal.id).not_in(theirs),
                tuple_(col(Proposal.id), col(Proposal.review_round)).not_in(voted),
            )
        )
    actor_id: BindParameter[int] = bindparam("actor_id")
    mine = sa_select(col(CoProposer.proposal_id)).where(col(CoProposer.user_id) == actor_id)
    return and_(
        col(Proposal.status).in_(sorted(REVIEW_STATES)),
        or_(*seats),
        col(Proposal.owner_id) != actor_id,
        col(Proposal.id).not_in(mine),
    )


@lru_cache(maxsize=128)
def _awaiting_count_stmt(shape: Shape) -> Select[*tuple[Any, ...]]:
    return sa_select(func.count()).select_from(Proposal).where(_awaiting_where(shape))


def awaiting_count(session: Session, actor: Actor) -> int:
    """Read once per database version (the navigation's badge on every page, the dashboard's panel, the list's
    total), not again on each page a person opens while nothing has changed (``app.db.version_memo``)."""
    if not actor.memberships:
        return 0
    shape, params = _shape(actor)
    return version_memo(
        session,
        _count_key(shape, params),
        lambda: int(session.connection().execute(_awaiting_count_stmt(shape), params).scalar_one()),
    )


def _count_key(shape: Shape, params: dict[str, Any]) -> Hashable:
    """The count's key: the person and their seats (whose ballot each casts) are all it depends on besides data."""
    return ("awaiting_count", shape, tuple(sorted(params.items())))


@lru_cache(maxsize=128)
def _awaiting_page_stmt(shape: Shape) -> Select[*tuple[Any, ...]]:
    return _page_stmt(_awaiting_where(shape), counted=True)


def awaiting(session: Session, actor: Actor, *, offset: int, limit: int, now: datetime) -> tuple[list[Row], int]:
    shape, params = _shape(actor)
    result = (
        session.connection().execute(_awaiting_page_stmt(shape), {**params, "offset": offset, "limit": limit}).all()
    )
    if result:
        total = int(result[0].total)
        return _rows(result, now), version_memo(session, _count_key(shape, params), lambda: total)
    return [], awaiting_count(session, actor)  # an empty page: zero, or an offset past the end


# --- the pipeline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineFilter:
    status: str | None = None
    org_unit_id: int | None = None
    kind: str | None = None
    with_open_conditions: bool = False
    q: str = ""

    def shape(self) -> tuple[bool, bool, bool, bool]:
        return (self.org_unit_id is not None, self.kind is not None, self.with_open_conditions, bool(self.q))

    def params(self) -> dict[str, Any]:
        escaped = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return {"org_unit_id": self.org_unit_id, "kind": self.kind, "q": f"%{escaped}%", "status": self.status}


@lru_cache(maxsize=64)
def _pipeline_where(shape: tuple[bool, bool, bool, bool]) -> list[ColumnElement[bool] | TextClause]:
    """Proposals in the approval pipeline (not finished); with ``open_only``, every proposal, finished ones
    included, that still has a condition to meet."""
    by_faculty, by_kind, open_only, by_title = shape
    where: list[ColumnElement[bool] | TextClause] = []
    if open_only:
        # Uncorrelated IN: evaluated once (a hashed subplan on PostgreSQL), not once per proposal row.
        where.append(
            col(Proposal.id).in_(
                sa_select(col(Condition.proposal_id)).where(col(Condition.status) != ConditionStatus.confirmed)
            )
        )
    else:
        # Literal, as in the partial index ix_proposal_open_by_age, so even a prepared, generic plan can use it.
        where.append(text(f"proposal.{NOT_FINISHED_SQL}"))
    if by_faculty:
        where.append(col(Proposal.org_unit_id) == bindparam("org_unit_id"))
    if by_kind:
        where.append(col(Proposal.kind) == bindparam("kind"))
    if by_title:
        where.append(col(Proposal.title).ilike(bindparam("q"), escape="\\"))
    return where


@lru_cache(maxsize=64)
def _pipeline_counts_stmt(shape: tuple[bool, bool, bool, bool]) -> Select[*tuple[Any, ...]]:
    """Counts per faculty and status, every faculty listed even without proposals: one statement gives the stage
    summary and the faculty filter's options."""
    # Counted first (an index-only scan of the open proposals), then joined to the few faculties: joining every
    # proposal row to its faculty before grouping costs more than the counting.
    counted = (
        sa_select(col(Proposal.org_unit_id), col(Proposal.status), func.count().label("proposals"))
        .where(*_pipeline_where(shape))
        .group_by(col(Proposal.org_unit_id), col(Proposal.status))
        .subquery("counted")
    )
    return (
        sa_select(col(OrgUnit.id), col(OrgUnit.name), counted.c.status, counted.c.proposals)
        .select_from(OrgUnit)
        .outerjoin(counted, counted.c.org_unit_id == OrgUnit.id)
    )


@lru_cache(maxsize=128)
def _pipeline_page_stmt(shape: tuple[bool, bool, bool, bool], by_status: bool) -> Select[*tuple[Any, ...]]:
    where = _pipeline_where(shape)
    if by_status:
        where = [*where, col(Proposal.status) == bindparam("status")]
    return _page_stmt(and_(*where), counted=False)


@dataclass(frozen=True)
class PipelinePage:
    rows: list[Row]
    total: int
    counts: dict[str, int]  # per status, for the stage summary
    faculties: list[tuple[int, str]]  # every faculty, for the filter


def pipeline(session: Session, filters: PipelineFilter, *, offset: int, limit: int, now: datetime) -> PipelinePage:
    """A page of the pipeline, oldest in stage first, with its total, the count per status and the faculties."""
    shape, params = filters.shape(), filters.params()
    counts: dict[str, int] = {}
    faculties: dict[int, str] = {}
    for row in session.connection().execute(_pipeline_counts_stmt(shape), params):
        faculties[row.id] = row.name
        if row.status is not None:
            counts[row.status] = counts.get(row.status, 0) + int(row.proposals)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    page = _pipeline_page_stmt(shape, filters.status is not None)
    result = session.connection().execute(page, {**params, "offset": offset, "limit": limit}).all()
    return PipelinePage(_rows(result, now), total, counts, sorted(faculties.items(), key=lambda f: f[1]))


# --- one statement per page ----------------------------------------------------------------------


def _page_stmt(where: ColumnElement[bool], *, counted: bool) -> Select[*tuple[Any, ...]]:
    open_conditions = (
        sa_select(func.count())
        .where(col(Condition.proposal_id) == Proposal.id, col(Condition.status) != ConditionStatus.confirmed)
        .correlate(Proposal)
        .scalar_subquery()
    )
    votes = (
        sa_select(func.count())
        .where(col(Vote.proposal_id) == Proposal.id, col(Vote.review_round) == Proposal.review_round)
        .correlate(Proposal)
        .scalar_subquery()
    )
    # A scalar subquery, like the counts: evaluated for the page's rows only, after the sort and limit.
    decided_by = (
        sa_select(col(Committee.name))
        .where(col(Committee.id) == Proposal.deciding_committee_id)
        .correlate(Proposal)
        .scalar_subquery()
    )
    # Read by name in _rows: the labels name the columns whose own names are taken or anonymous.
    columns: list[Any] = [
        Proposal.id,
        Proposal.title,
        Proposal.kind,
        Proposal.status,
        Proposal.current_body,
        Proposal.stage_entered_at,
        col(User.name).label("owner_name"),
        col(OrgUnit.name).label("faculty"),
        open_conditions.label("open_conditions"),
        votes.label("votes_cast"),
        Proposal.stage_due_at,
        decided_by.label("decided_by"),
    ]
    if counted:
        columns.append(func.count().over().label("total"))
    return (
        sa_select(*columns)
        .join(User, col(User.id) == Proposal.owner_id)
        .join(OrgUnit, col(OrgUnit.id) == Proposal.org_unit_id)
        .where(where)
        .order_by(col(Proposal.stage_entered_at), col(Proposal.id))
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def _rows(result: Any, now: datetime) -> list[Row]:
    return [
        Row(
            id=r.id,
            title=r.title,
            kind=r.kind,
            status=r.status,
            current_body=r.current_body,
            owner_name=r.owner_name,
            faculty=r.faculty,
            days_in_stage=max(0, (now - r.stage_entered_at).days),
            open_conditions=int(r.open_conditions),
            votes_cast=int(r.votes_cast),
            due_at=r.stage_due_at,
            overdue_days=overdue_days(r.stage_due_at, now) if r.stage_due_at is not None else 0,
            decided_by=r.decided_by,
        )
        for r in result
    ]
