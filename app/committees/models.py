"""What committee tools keep: a member's substitute for a period, who watches which proposal, and agendas."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from app.db import utcnow


class Delegation(SQLModel, table=True):
    """A member names a substitute who acts on their queue from ``starts_on`` to ``ends_on`` (both included)."""

    __tablename__ = "delegation"
    __table_args__ = (Index("ix_delegation_substitute", "substitute_id", "starts_on", "ends_on"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    substitute_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    starts_on: date
    ends_on: date
    reason: str = Field(default="", max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class Watch(SQLModel, table=True):
    """Someone who asked to hear of every step of a proposal (an FYI, no action)."""

    __tablename__ = "proposal_watch"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)


_agenda_status: Column[str] = Column("status", AutoString(length=20), nullable=False)


class Agenda(SQLModel, table=True):
    """A meeting of one committee: the proposals it will decide, in order. Its status is run by the workflow core
    (app.workflows.agenda); the status column is its own compare-and-set."""

    __tablename__ = "agenda"
    __mapper_args__ = {"version_id_col": _agenda_status, "version_id_generator": False}

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True, ondelete="CASCADE")
    meets_on: date
    title: str = Field(default="", max_length=200)
    status: str = Field(default="draft", sa_column=_agenda_status)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Bumped by every change of the items (order, notes): a reorder sent from a stale page is refused (409).
    revision: int = 0


class AgendaItem(SQLModel, table=True):
    """One proposal on an agenda, its place, the chair's note, and the body's decision recorded in the minutes."""

    __tablename__ = "agenda_item"
    __table_args__ = (UniqueConstraint("agenda_id", "proposal_id"),)

    id: int | None = Field(default=None, primary_key=True)
    agenda_id: int = Field(foreign_key="agenda.id", index=True, ondelete="CASCADE")
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    position: int
    note: str = Field(default="", max_length=2000)
    review_round: int  # the round the body was deciding when the item was added
    outcome: str | None = Field(default=None, max_length=30)  # the decision recorded from the meeting
    outcome_comment: str = ""
    recorded_at: datetime | None = None
