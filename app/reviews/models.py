"""The tables of periodic review.

- ``credential_standing``: the lifecycle of a published micro-credential (active, under review, suspended,
  retired), one row per micro-credential, keyed by the credential's id so its audit rows read
  "micro-credential 12";
- ``review``: one monitoring report or full review, from scheduled to its outcome, with the owner's
  self-evaluation and the QA office's assessment (its ESG checklist answers are ``checklist_response`` rows of
  subject type "review"; the outcome keeps a snapshot of them). ``trigger_key`` names why it exists (its
  schedule slot, a threshold crossed) and is unique, so two sweepers scheduling or opening the same review insert
  it once;
- ``review_alert``: each reminder, escalation and overdue consequence sent about a review, unique per
  (review, step): the claim that makes each happen exactly once;
- ``review_action``: an action set by the outcome "continue with actions", with its owner and due date, tracked
  to closure.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import utcnow

_standing_version = Column("lock_version", Integer, nullable=False, server_default="1")
_review_version = Column("lock_version", Integer, nullable=False, server_default="1")


class CredentialStanding(SQLModel, table=True):
    __tablename__ = "credential_standing"
    __table_args__ = (Index("ix_credential_standing_status", "status"),)

    id: int = Field(primary_key=True, foreign_key="credential.id", sa_column_kwargs={"autoincrement": False})
    status: str = Field(default="active", max_length=20)
    # Why it is suspended: "overdue" (intake reopens when the overdue review closes) or "outcome".
    suspension_reason: str | None = Field(default=None, max_length=20)
    changed_at: datetime = Field(default_factory=utcnow)
    lock_version: int = Field(default=1, sa_column=_standing_version)

    __mapper_args__ = {"version_id_col": _standing_version}


class Review(SQLModel, table=True):
    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("trigger_key"),
        # The sweep: scheduled reviews that open, open ones that fall due (index-driven, never a full scan).
        Index("ix_review_status_opens_on", "status", "opens_on"),
        Index("ix_review_status_due_on", "status", "due_on"),
        Index("ix_review_credential", "credential_id", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    credential_id: int = Field(foreign_key="credential.id")
    kind: str = Field(max_length=20)  # monitoring | full
    trigger: str = Field(max_length=20)  # schedule | offering | qa_office | threshold
    trigger_key: str = Field(max_length=120)
    reason: str = Field(default="", max_length=2000)  # why the QA office or a threshold opened it
    status: str = Field(default="scheduled", max_length=20)
    opens_on: date
    due_on: date
    opened_at: datetime | None = None
    submitted_at: datetime | None = None
    closed_on: date | None = None
    # The owner's self-evaluation.
    narrative: str = Field(default="", max_length=8000)
    need_evidence: str = Field(default="", max_length=4000)
    need_checked_on: date | None = None
    action_plan: str = Field(default="", max_length=4000)
    figures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The QA office's assessment and outcome.
    assessment: str = Field(default="", max_length=8000)
    outcome: str | None = Field(default=None, max_length=30)
    revision_proposal_id: int | None = Field(default=None, foreign_key="proposal.id")
    # The review's ESG checklist as it stood when the outcome was recorded (app.checklists.service.snapshot).
    checklist: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    lock_version: int = Field(default=1, sa_column=_review_version)

    __mapper_args__ = {"version_id_col": _review_version}


class ReviewAlert(SQLModel, table=True):
    __tablename__ = "review_alert"
    __table_args__ = (UniqueConstraint("review_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id")
    step: str = Field(max_length=40)  # reminder_14, escalation_14, overdue_consequence
    sent_at: datetime
    recipients: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ReviewAction(SQLModel, table=True):
    __tablename__ = "review_action"
    __table_args__ = (Index("ix_review_action_open_due", "done_at", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    credential_id: int = Field(foreign_key="credential.id")
    text: str = Field(max_length=1000)
    owner_id: int = Field(foreign_key="user_account.id", index=True)
    due_on: date
    done_at: datetime | None = None
    done_note: str = Field(default="", max_length=2000)
    due_soon_notified_at: datetime | None = None
    overdue_notified_at: datetime | None = None
