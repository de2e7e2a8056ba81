"""What a body's review of a proposal leaves: votes, decisions, the conditions an approval sets, and the alerts
sent about a stage (reminders, escalations, no eligible voter)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from app.db import utcnow
from app.workflows.conditions import ConditionStatus

UNSENT_SQL = "sent_at IS NULL"


class Vote(SQLModel, table=True):
    __tablename__ = "vote"
    __table_args__ = (
        UniqueConstraint("proposal_id", "review_round", "voter_id"),
        Index("ix_vote_round", "proposal_id", "review_round"),
        # What a member has voted on, read from the index alone ("awaiting my decision").
        Index("ix_vote_voter", "voter_id", "proposal_id", "review_round"),
    )

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE")
    review_round: int
    body: str = Field(max_length=30)
    committee_id: int = Field(foreign_key="committee.id")
    voter_id: int = Field(foreign_key="user_account.id")
    choice: str = Field(max_length=30)
    comment: str = ""
    conditions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Decision(SQLModel, table=True):
    """A body's decision on one review round: the outcome, the rule that produced it and the tally."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    review_round: int
    body: str = Field(max_length=30)
    committee_id: int = Field(foreign_key="committee.id")
    outcome: str = Field(max_length=30)
    rule: str = Field(max_length=30)
    tally: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str = ""
    policy_version: str = Field(max_length=80)
    decided_at: datetime = Field(default_factory=utcnow)
    # The body's ESG checklist as it stood when it decided (app.checklists.service.snapshot); empty before.
    checklist: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


_condition_status: Column[str] = Column("status", AutoString(length=20), nullable=False)


class Condition(SQLModel, table=True):
    __tablename__ = "condition"
    # The status is its own compare-and-set: an UPDATE carries "WHERE status = <the status it was read with>",
    # so two people acting on one condition at once cannot both succeed. The workflow core sets the new value.
    __mapper_args__ = {"version_id_col": _condition_status, "version_id_generator": False}

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    text: str
    due_on: date
    status: str = Field(default=ConditionStatus.open.value, sa_column=_condition_status)
    evidence: str = ""
    met_at: datetime | None = None
    met_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    confirmed_at: datetime | None = None
    confirmed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    # When the proposers were told it is due soon, and that it is overdue (each once: the reminder job's claims).
    due_soon_notified_at: datetime | None = None
    overdue_notified_at: datetime | None = None


class StageAlert(SQLModel, table=True):
    """One alert about one stage (a proposal's review round at a body): a reminder, an escalation, or the QA office
    told that nobody in the body may vote. The unique key makes each exist once, however many sweepers run: the
    insert is the claim. ``sent_at`` is empty while an alert waits for the sweep to send it."""

    __tablename__ = "stage_alert"
    __table_args__ = (
        UniqueConstraint("proposal_id", "review_round", "body", "step"),
        Index("ix_stage_alert_unsent", "id", postgresql_where=text(UNSENT_SQL), sqlite_where=text(UNSENT_SQL)),
    )

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE")
    review_round: int
    body: str = Field(max_length=30)
    step: str = Field(max_length=40)
    recipients: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
