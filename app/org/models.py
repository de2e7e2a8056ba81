"""The organisation: faculties, committees with members and a chair, degree programmes and their modules."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import utcnow


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


class CommitteeMember(SQLModel, table=True):
    __tablename__ = "committee_member"
    __table_args__ = (UniqueConstraint("committee_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    is_chair: bool = False
    is_learner_representative: bool = False


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


class Module(SQLModel, table=True):
    __tablename__ = "module"
    __table_args__ = (UniqueConstraint("programme_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programme.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=30)
    name: str = Field(max_length=200)
    ects: float = Field(gt=0, le=60)


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


class MemberPublic(SQLModel):
    user_id: int
    name: str
    email: str
    is_chair: bool
    is_learner_representative: bool


class CommitteePublic(SQLModel):
    id: int
    name: str
    kind: CommitteeKind
    org_unit_id: int | None
    members: list[MemberPublic] = []


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


class ProgrammeCreate(SQLModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel types it as its own dict

    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    org_unit_id: int
    eqf_level: int = Field(ge=1, le=8)
    ects: int = Field(ge=1, le=600)


class ProgrammePublic(SQLModel):
    id: int
    code: str
    name: str
    org_unit_id: int
    eqf_level: int
    ects: int
    modules: list[ModulePublic] = []
