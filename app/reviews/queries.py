"""What the QA office's reviews dashboard, the owner's dashboard, the CSV export and the API read: reviews with
their micro-credential, faculty and owner, filtered; the load per month; suspensions by faculty. Each list is
one query joined with its names, whatever its length."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.catalogue.models import Credential
from app.org.models import OrgUnit
from app.pagination import Page
from app.reviews.models import CredentialStanding, Review, ReviewAction
from app.reviews.service import KIND_LABELS, OPEN_STATES, last_closed
from app.users.models import User
from app.workflows.reviews import OUTCOME_LABELS, REVIEW_LABELS, Outcome, ReviewStatus, StandingStatus

DUE_SOON_DAYS = 90
# Every status but closed (a list, so that each is a range of ``ix_review_status_due_on``).
NOT_CLOSED = sorted(s.value for s in ReviewStatus if s is not ReviewStatus.closed)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ReviewFilters(BaseModel):
    """Filters of the dashboard, the CSV export and ``GET /api/v1/reviews``; empty means any."""

    model_config = ConfigDict(str_strip_whitespace=True)

    status: ReviewStatus | None = Field(default=None, description="scheduled, open, submitted, in_assessment, closed")
    due_before: date | None = Field(default=None, description="Due on or before this day")
    faculty: int | None = Field(default=None, description="Owning faculty (org unit id)")
    kind: str | None = Field(default=None, pattern="^(monitoring|full)$", description="monitoring or full")

    @field_validator("status", "due_before", "faculty", "kind", mode="before")
    @classmethod
    def _empty_is_any(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def where(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status is not None:
            found.append(col(Review.status) == self.status.value)
        if self.due_before is not None:
            found.append(col(Review.due_on) <= self.due_before)
        if self.faculty is not None:
            found.append(col(Credential.org_unit_id) == self.faculty)
        if self.kind is not None:
            found.append(col(Review.kind) == self.kind)
        return found


class ReviewRow(BaseModel):
    """One review as lists show it (and the API returns it)."""

    id: int
    credential_id: int
    title: str
    faculty: str
    faculty_id: int
    owner_id: int
    owner_name: str
    kind: str
    trigger: str
    status: str
    status_label: str
    opens_on: date
    due_on: date
    closed_on: date | None
    outcome: str | None
    outcome_label: str | None
    overdue_days: int = Field(description="Days past the due date while the owner has not submitted; 0 otherwise")

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def _rows(
    session: Session, where: list[ColumnElement[bool]], *, today: date, limit: int = 500, offset: int = 0
) -> list[ReviewRow]:
    stmt = (
        sa_select(
            Review,
            col(Credential.title),
            col(Credential.owner_id),
            col(Credential.org_unit_id),
            col(OrgUnit.name),
            col(User.name),
        )
        .join(Credential, col(Credential.id) == Review.credential_id)
        .join(OrgUnit, col(OrgUnit.id) == Credential.org_unit_id)
        .join(User, col(User.id) == Credential.owner_id)
        .where(*where)
        .order_by(col(Review.due_on), col(Review.id))
        .offset(offset)
        .limit(limit)
    )
    rows = []
    for review, title, owner_id, faculty_id, faculty, owner_name in session.execute(stmt).all():
        overdue = (today - review.due_on).days if review.status == ReviewStatus.open.value else 0
        rows.append(
            ReviewRow(
                id=review.id or 0,
                credential_id=review.credential_id,
                title=title,
                faculty=faculty,
                faculty_id=faculty_id,
                owner_id=owner_id,
                owner_name=owner_name,
                kind=review.kind,
                trigger=review.trigger,
                status=review.status,
                status_label=REVIEW_LABELS[review.status],
                opens_on=review.opens_on,
                due_on=review.due_on,
                closed_on=review.closed_on,
                outcome=review.outcome,
                outcome_label=OUTCOME_LABELS[Outcome(review.outcome)] if review.outcome else None,
                overdue_days=max(overdue, 0),
            )
        )
    return rows


def count(session: Session, filters: ReviewFilters) -> int:
    stmt = select(func.count()).select_from(Review).join(Credential, col(Credential.id) == Review.credential_id)
    return session.exec(stmt.where(*filters.where())).one()


def listing(
    session: Session, filters: ReviewFilters, *, today: date, offset: int = 0, limit: int = 100
) -> list[ReviewRow]:
    return _rows(session, filters.where(), today=today, offset=offset, limit=limit)


def of_credential(session: Session, credential_id: int, *, today: date) -> list[ReviewRow]:
    return _rows(session, [col(Review.credential_id) == credential_id], today=today)


def _due_soon(today: date) -> ColumnElement[bool]:
    """Not closed, due within ``DUE_SOON_DAYS`` from today (each status a range of ``ix_review_status_due_on``)."""
    return and_(
        col(Review.status).in_(NOT_CLOSED),
        col(Review.due_on) >= today,
        col(Review.due_on) <= today + timedelta(days=DUE_SOON_DAYS),
    )


def _open() -> ColumnElement[bool]:
    return col(Review.status).in_(sorted(OPEN_STATES))


def _overdue(today: date) -> ColumnElement[bool]:
    """Open (not submitted) past its due date: ``ReviewRow.overdue_days`` > 0."""
    return and_(col(Review.status) == ReviewStatus.open.value, col(Review.due_on) < today)


@dataclass(frozen=True)
class FacultyLoad:
    """One faculty's reviews due soon, open and overdue (as filtered), and its suspended micro-credentials."""

    faculty_id: int
    faculty: str
    due_soon: int = 0
    open: int = 0
    overdue: int = 0
    suspended: int = 0


@dataclass(frozen=True)
class Totals:
    due_soon: int
    open: int
    overdue: int
    suspended: int


def totals(loads: list[FacultyLoad]) -> Totals:
    return Totals(
        due_soon=sum(f.due_soon for f in loads),
        open=sum(f.open for f in loads),
        overdue=sum(f.overdue for f in loads),
        suspended=sum(f.suspended for f in loads),
    )


def by_faculty(session: Session, filters: ReviewFilters, *, today: date) -> list[FacultyLoad]:
    """Per faculty, by name: the reviews due soon, open and overdue that the filters leave, and the suspended
    micro-credentials (filtered by faculty only). Two grouped statements, whatever the number of reviews."""
    due, opened, overdue = _due_soon(today), _open(), _overdue(today)

    def number(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    reviews = (
        sa_select(col(Credential.org_unit_id), number(due), number(opened), number(overdue))
        .select_from(Review)
        .join(Credential, col(Credential.id) == Review.credential_id)
        .where(*filters.where(), or_(due, opened))
        .group_by(col(Credential.org_unit_id))
    )
    suspended = (
        sa_select(col(Credential.org_unit_id), func.count())
        .select_from(CredentialStanding)
        .join(Credential, col(Credential.id) == CredentialStanding.id)
        .where(col(CredentialStanding.status) == StandingStatus.suspended.value)
        .group_by(col(Credential.org_unit_id))
    )
    if filters.faculty is not None:
        suspended = suspended.where(col(Credential.org_unit_id) == filters.faculty)
    counts: dict[int, list[int]] = {}
    for unit, n_due, n_open, n_overdue in session.execute(reviews):
        counts[unit] = [int(n_due or 0), int(n_open or 0), int(n_overdue or 0), 0]
    for unit, n in session.execute(suspended):
        counts.setdefault(unit, [0, 0, 0, 0])[3] = int(n)
    if not counts:
        return []
    names = dict(
        session.execute(sa_select(col(OrgUnit.id), col(OrgUnit.name)).where(col(OrgUnit.id).in_(counts))).all()
    )
    loads = [FacultyLoad(unit, names.get(unit, ""), *n) for unit, n in counts.items()]
    return sorted(loads, key=lambda f: (f.faculty, f.faculty_id))


@dataclass(frozen=True)
class SuspendedRow:
    credential_id: int
    title: str
    faculty: str


@dataclass(frozen=True)
class SuspendedByFaculty:
    faculty: str
    titles: list[tuple[int, str]]


def suspended(session: Session, filters: ReviewFilters, *, offset: int = 0, limit: int = 25) -> list[SuspendedRow]:
    """A page of the suspended micro-credentials, by faculty and title (filtered by faculty only)."""
    stmt = (
        sa_select(col(Credential.id), col(Credential.title), col(OrgUnit.name))
        .select_from(CredentialStanding)
        .join(Credential, col(Credential.id) == CredentialStanding.id)
        .join(OrgUnit, col(OrgUnit.id) == Credential.org_unit_id)
        .where(col(CredentialStanding.status) == StandingStatus.suspended.value)
        .order_by(col(OrgUnit.name), col(Credential.title), col(Credential.id))
        .offset(offset)
        .limit(limit)
    )
    if filters.faculty is not None:
        stmt = stmt.where(col(Credential.org_unit_id) == filters.faculty)
    return [SuspendedRow(cid, title, faculty) for cid, title, faculty in session.execute(stmt)]


def grouped(rows: list[SuspendedRow]) -> list[SuspendedByFaculty]:
    """Rows (in faculty order) grouped by faculty."""
    found: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        found.setdefault(r.faculty, []).append((r.credential_id, r.title))
    return [SuspendedByFaculty(f, t) for f, t in found.items()]


def load_per_month(session: Session, filters: ReviewFilters) -> list[tuple[int, list[int]]]:
    """The reviews the filters leave due per month, year by year: counted per due date in SQL (an index-only pass
    over ``ix_review_due_on`` without a faculty filter), folded into months here."""
    stmt = sa_select(col(Review.due_on), func.count()).select_from(Review)
    if filters.faculty is not None:
        stmt = stmt.join(Credential, col(Credential.id) == Review.credential_id)
    months: Counter[tuple[int, int]] = Counter()
    for due, n in session.execute(stmt.where(*filters.where()).group_by(col(Review.due_on))):
        months[(due.year, due.month)] += int(n)
    years = sorted({y for y, _ in months})
    return [(y, [months.get((y, m), 0) for m in range(1, 13)]) for y in years]


@dataclass(frozen=True)
class DashboardPages:
    """Where each list of the dashboard starts, and how many rows a list shows."""

    due_soon: int = 0
    overdue: int = 0
    open: int = 0
    suspended: int = 0
    limit: int = 25


@dataclass(frozen=True)
class Dashboard:
    due_soon: Page[ReviewRow]
    open: Page[ReviewRow]
    overdue: Page[ReviewRow]
    suspended: Page[SuspendedRow]
    by_faculty: list[FacultyLoad]
    timeline: list[tuple[int, list[int]]]  # (year, reviews due per month)

    @property
    def totals(self) -> Totals:
        return totals(self.by_faculty)

    @property
    def peak(self) -> int:
        return max((n for _, counts in self.timeline for n in counts), default=0)

    @property
    def suspended_by_faculty(self) -> list[SuspendedByFaculty]:
        """The page of suspended micro-credentials, grouped by faculty."""
        return grouped(self.suspended.items)


def dashboard(
    session: Session, filters: ReviewFilters, *, today: date, pages: DashboardPages | None = None
) -> Dashboard:
    """The QA office's dashboard: the counts per faculty and the load per month computed in SQL, and one page of
    each list (due soon, overdue, open, suspended), its total taken from the counts."""
    at = pages or DashboardPages()
    limit = at.limit
    base = filters.where()
    loads = by_faculty(session, filters, today=today)
    total = totals(loads)

    def page(condition: ColumnElement[bool], offset: int, count: int) -> Page[ReviewRow]:
        rows = _rows(session, [*base, condition], today=today, offset=offset, limit=limit) if offset < count else []
        return Page(items=rows, total=count, offset=offset, limit=limit)

    stopped = suspended(session, filters, offset=at.suspended, limit=limit) if at.suspended < total.suspended else []
    return Dashboard(
        due_soon=page(_due_soon(today), at.due_soon, total.due_soon),
        open=page(_open(), at.open, total.open),
        overdue=page(_overdue(today), at.overdue, total.overdue),
        suspended=Page(items=stopped, total=total.suspended, offset=at.suspended, limit=limit),
        by_faculty=loads,
        timeline=load_per_month(session, filters),
    )


def faculty_options(session: Session) -> list[tuple[int, str]]:
    return [(u or 0, n) for u, n in session.exec(select(OrgUnit.id, OrgUnit.name).order_by(OrgUnit.name))]


CSV_COLUMNS = (
    "id",
    "title",
    "faculty",
    "owner_name",
    "kind",
    "status",
    "opens_on",
    "due_on",
    "closed_on",
    "outcome",
    "overdue_days",
)


def as_csv(rows: list[ReviewRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        values = r.model_dump()
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return out.getvalue()


# --- the owner's dashboard -------------------------------------------------------------------------


class ActionRow(BaseModel):
    id: int
    review_id: int
    credential_id: int
    title: str
    text: str
    owner_id: int
    due_on: date
    done_at: Any = None
    done_note: str = ""


def my_reviews(session: Session, user_id: int, *, today: date) -> list[ReviewRow]:
    """The reviews of the micro-credentials this person owns that are not closed, by due date."""
    return _rows(
        session,
        [
            col(Credential.owner_id) == user_id,
            col(Review.status).in_(sorted(OPEN_STATES | {ReviewStatus.scheduled.value})),
        ],
        today=today,
    )


def actions(session: Session, *where: ColumnElement[bool]) -> list[ActionRow]:
    stmt = (
        select(ReviewAction, Credential.title)
        .join(Credential, col(Credential.id) == ReviewAction.credential_id)
        .where(*where)
        .order_by(col(ReviewAction.due_on), col(ReviewAction.id))
    )
    return [ActionRow(**a.model_dump(), title=title) for a, title in session.exec(stmt).all()]


def my_actions(session: Session, user_id: int) -> list[ActionRow]:
    """This person's open actions, by due date."""
    return actions(session, col(ReviewAction.owner_id) == user_id, col(ReviewAction.done_at).is_(None))


def previous_actions(session: Session, review: Review) -> list[ActionRow]:
    """The last review's action items and their status, for the self-evaluation."""
    previous = last_closed(session, review.credential_id, before=review)
    return actions(session, col(ReviewAction.review_id) == previous.id) if previous is not None else []
