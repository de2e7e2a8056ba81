"""The organisation: faculties, committees with members and a chair, degree programmes and their modules."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlalchemy import ColumnElement, UniqueConstraint, func, true
from sqlmodel import Field, SQLModel, and_, col, or_, select

from app.db import utcnow
from app.users.models import User


class CommitteeKind(StrEnum):
    faculty_council = "faculty_council"
    lll_committee = "lll_committee"
    qa_office = "qa_office"
    final_body = "final_body"


COMMITTEE_KIND_LABELS = {
    CommitteeKind.faculty_council: "Faculty council",
    CommitteeKind.lll_committee: "Lifelong-learning committee",
    CommitteeKind.qa_office: "QA office",
    CommitteeKind.final_body: "Final body",
}


class OrgUnit(SQLModel, table=True):
    """An organisational unit that owns offers; in practice a faculty."""

    __tablename__ = "org_unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class Committee(SQLModel, table=True):
    __tablename__ = "committee"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32, index=True)
    # A faculty council belongs to a faculty; the other kinds are institution-wide.
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # A deactivated committee decides nothing and is offered nowhere, but stays in history (its votes, decisions).
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class CommitteeMember(SQLModel, table=True):
    __tablename__ = "committee_member"
    __table_args__ = (UniqueConstraint("committee_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    is_chair: bool = False
    is_learner_representative: bool = False
    started_on: date | None = None  # unknown for memberships older than the dates
    # The membership ends at the start of this day; until then it counts. Ended memberships are kept as history.
    ended_on: date | None = None


def membership_dated() -> ColumnElement[bool]:
    """SQL: by its dates, the membership runs today (no end date, or one still ahead)."""
    return or_(col(CommitteeMember.ended_on).is_(None), col(CommitteeMember.ended_on) > func.current_date())


def membership_current() -> ColumnElement[bool]:
    """SQL: the membership counts today: it runs by its dates, and the member's account is active. The one place
    that says which members may vote, chair and see a body's queue; an ended membership keeps its past votes but
    gives no more rights, and so does a deactivated account's until it is activated again."""
    account_active = select(User.id).where(col(User.id) == CommitteeMember.user_id, col(User.is_active)).exists()
    return and_(membership_dated(), account_active)


class Programme(SQLModel, table=True):
    """A degree programme, from which unbundled micro-credentials are cut."""

    __tablename__ = "programme"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=30, unique=True)
    name: str = Field(max_length=200)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    eqf_level: int = Field(ge=1, le=8)
    ects: int = Field(ge=1, le=600)
    created_at: datetime = Field(default_factory=utcnow)
    # A deactivated programme is not offered for new unbundled proposals; existing ones keep showing it.
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class Module(SQLModel, table=True):
    __tablename__ = "module"
    __table_args__ = (UniqueConstraint("programme_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programme.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=30)
    name: str = Field(max_length=200)
    ects: float = Field(gt=0, le=60)
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


# --- API schemas ---------------------------------------------------------------------------------


class OrgUnitCreate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=200)


class OrgUnitPublic(SQLModel):
    id: int
    code: str
    name: str


class CommitteeCreate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    name: str = Field(min_length=1, max_length=200)
    kind: CommitteeKind
    org_unit_id: int | None = None


class MemberSet(SQLModel):
    user_id: int
    is_chair: bool = False
    is_learner_representative: bool = False


class CommitteeUpdate(SQLModel):
    """A committee's name, kind, faculty and chair, all at once (what the edit form shows)."""

    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    name: str = Field(min_length=1, max_length=200)
    kind: CommitteeKind
    org_unit_id: int | None = None
    chair_user_id: int | None = Field(default=None, description="A current member, or empty for no chair")


class MembershipEnd(SQLModel):
    ended_on: date | None = Field(default=None, description="The day the membership ends; empty: today")


class MemberPublic(SQLModel):
    user_id: int
    name: str
    email: str
    is_chair: bool
    is_learner_representative: bool
    started_on: date | None = None
    ended_on: date | None = None
    # False: the member's account is deactivated; the membership gives no rights (no vote, no queue) meanwhile.
    account_active: bool = True


class CommitteePublic(SQLModel):
    id: int
    name: str
    kind: CommitteeKind
    org_unit_id: int | None
    is_active: bool = True
    members: list[MemberPublic] = []  # current members, chair first
    past_members: list[MemberPublic] = []  # ended memberships, latest end first


class ModuleCreate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    ects: float = Field(gt=0, le=60)


class ModulePublic(SQLModel):
    id: int
    programme_id: int
    code: str
    name: str
    ects: float
    is_active: bool = True


class ProgrammeCreate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    org_unit_id: int
    eqf_level: int = Field(ge=1, le=8)
    ects: int = Field(ge=1, le=600)


class ProgrammeUpdate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    eqf_level: int = Field(ge=1, le=8)
    ects: int = Field(ge=1, le=600)


class ProgrammePublic(SQLModel):
    id: int
    code: str
    name: str
    org_unit_id: int
    eqf_level: int
    ects: int
    is_active: bool = True
    modules: list[ModulePublic] = []
