"""Checklist answers, generic over what owns the checklist: ``(subject_type, subject_id, item_key)`` is one
answer ("proposal", 42, "ects-hours"); a periodic review owns its checklist as ("review", id, key).

An answer keeps what it answered: the item's version and its text as it stood (``item_snapshot``), and the
automatic check's result when it was saved, so editing the policy never rewrites an old answer or report.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.workflows.checklist import AnswerStatus

_lock_version = Column("lock_version", Integer, nullable=False, server_default="1")


class ChecklistResponse(SQLModel, table=True):
    __tablename__ = "checklist_response"
    # The unique key also serves "every answer of this subject" (its leading columns).
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", "item_key", name="uq_checklist_response_item"),)
    __mapper_args__ = {"version_id_col": _lock_version}

    id: int | None = Field(default=None, primary_key=True)
    subject_type: str = Field(max_length=20)
    subject_id: int
    item_key: str = Field(max_length=60)
    standard: str = Field(max_length=5)
    body: str = Field(max_length=30)
    status: str = Field(default=AnswerStatus.unanswered.value, max_length=20)
    item_version: str = Field(default="", max_length=20)
    policy_version: str = Field(default="", max_length=80)
    # The item as answered: {title, guidance, mandatory, standard, body}.
    item_snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str = ""  # the reason (required for not applicable, and to override an automatic check)
    evidence_text: str = ""
    evidence_links: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The automatic check's result when the answer was saved: {status, reasons, matches}.
    automatic: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # A "not met" item made a condition of approval: its text and due date (the decision creates the condition).
    condition_text: str = ""
    condition_due_on: date | None = None
    answered_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    answered_at: datetime | None = None
    lock_version: int = Field(default=1, sa_column=_lock_version)
