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
from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.catalogue.models import Credential
from app.org.models import OrgUnit
from app.reviews.models import CredentialStanding, Review, ReviewAction
from app.reviews.service import KIND_LABELS, OPEN_STATES, last_closed
from app.users.models import User
from app.workflows.reviews import OUTCOME_LABELS, REVIEW_LABELS, Outcome, ReviewStatus, StandingStatus

DUE_SOON_DAYS = 90
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


@dataclass(frozen=True)
class SuspendedByFaculty:
    faculty: str
    titles: list[tuple[int, str]]


@dataclass(frozen=True)
class Dashboard:
    due_soon: list[ReviewRow]
    open: list[ReviewRow]
    overdue: list[ReviewRow]
    suspended: list[SuspendedByFaculty]
    timeline: list[tuple[int, list[int]]]  # (year, reviews due per month)
    peak: int


def dashboard(session: Session, filters: ReviewFilters, *, today: date) -> Dashboard:
    base = filters.where()
    not_closed = col(Review.status) != ReviewStatus.closed.value
    soon = _rows(
        session,
        [*base, not_closed, col(Review.due_on) <= today + timedelta(days=DUE_SOON_DAYS), col(Review.due_on) >= today],
        today=today,
    )
    opened = _rows(session, [*base, col(Review.status).in_(sorted(OPEN_STATES))], today=today)
    overdue = [r for r in opened if r.overdue_days > 0]
    suspended_stmt = (
        select(OrgUnit.name, Credential.id, Credential.title)
        .select_from(CredentialStanding)
        .join(Credential, col(Credential.id) == CredentialStanding.id)
        .join(OrgUnit, col(OrgUnit.id) == Credential.org_unit_id)
        .where(col(CredentialStanding.status) == StandingStatus.suspended.value)
        .order_by(col(OrgUnit.name), col(Credential.title))
    )
    if filters.faculty is not None:
        suspended_stmt = suspended_stmt.where(col(Credential.org_unit_id) == filters.faculty)
    by_faculty: dict[str, list[tuple[int, str]]] = {}
    for faculty, cid, title in session.exec(suspended_stmt).all():
        by_faculty.setdefault(faculty, []).append((cid or 0, title))
    months = Counter(
        (due.year, due.month)
        for due in session.exec(
            select(col(Review.due_on)).join(Credential, col(Credential.id) == Review.credential_id).where(*base)
        ).all()
    )
    years = sorted({y for y, _ in months})
    timeline = [(y, [months.get((y, m), 0) for m in range(1, 13)]) for y in years]
    return Dashboard(
        due_soon=soon,
        open=opened,
        overdue=overdue,
        suspended=[SuspendedByFaculty(f, t) for f, t in by_faculty.items()],
        timeline=timeline,
        peak=max(months.values(), default=0),
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
