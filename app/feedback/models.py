"""Feedback surveys of offerings, their single-use invitations, and the anonymous responses.

Anonymity by design (issue 9): a response row holds the survey and the answers, nothing else. Its key is a
random UUID (no order of arrival), it has no timestamp at all, and no column it shares with an invitation other
than the survey. An invitation holds only the hash of its token and whether it has been used (no time of use),
never an address: mailed invitations leave the addresses in the outbox's messages only (see service.py for the
reminders). So neither the schema nor the rows can join a response back to its invitation or its learner;
``tests/feedback/test_anonymity.py`` inspects both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Integer
from sqlmodel import Field, SQLModel

from app.db import utcnow

_lock_version = Column("lock_version", Integer, nullable=False, server_default="1")
STATUSES_SQL = "status IN ('draft', 'open', 'closed', 'released')"


class Survey(SQLModel, table=True):
    """One offering's feedback survey: a workflow row (draft, open, closed, results released)."""

    __tablename__ = "survey"
    __table_args__ = (
        CheckConstraint(STATUSES_SQL, name="status"),
        CheckConstraint("closes_on >= opens_on", name="dates_in_order"),
        Index("ix_survey_offering", "offering_id", unique=True),  # one survey per offering
        # The scheduler's questions: which open surveys close today, which drafts open.
        Index("ix_survey_status_closes", "status", "closes_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    offering_id: int = Field(foreign_key="offering.id")
    status: str = Field(default="draft", max_length=16)
    language: str = Field(max_length=2)  # the questionnaire's language (the offering's, or the default)
    questionnaire_version: str = Field(max_length=64)  # feedback.yaml's version when the survey was made
    # The questions asked, in order, as the policy gave them then plus the owner's own (kind likert or open).
    questions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    opens_on: date
    closes_on: date
    invited_count: int = 0  # links made (downloaded or mailed); the addresses are never kept
    mailed_count: int = 0
    open_link_hash: str | None = Field(default=None, max_length=64, unique=True)  # the classroom link, if any
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    released_at: datetime | None = None
    # Closing the loop: the owner's response and action plan, seen by the QA office.
    owner_response: str = ""
    action_plan: str = ""
    responded_at: datetime | None = None
    response_seen_at: datetime | None = None
    response_seen_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    lock_version: int = Field(default=1, sa_column=_lock_version)

    __mapper_args__ = {"version_id_col": _lock_version}

    def owner_questions(self) -> list[dict[str, Any]]:
        return [q for q in self.questions if q.get("group") == "owner"]


class SurveyInvitation(SQLModel, table=True):
    """A single-use link: the hash of its token and whether it was used. Nothing says who had it or when it was
    used. ``reminder_ids`` lists the outbox messages queued to remind its learner; they are deleted when the
    link is used (or the survey closes), so the list is empty once it could tell anything."""

    __tablename__ = "survey_invitation"

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    used: bool = False
    reminder_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SurveyResponse(SQLModel, table=True):
    """One learner's answers: a random key, the survey, the answers. No time, no invitation, no address."""

    __tablename__ = "survey_response"

    id: str = Field(primary_key=True, max_length=36)  # uuid4: random, so keys carry no order of arrival
    survey_id: int = Field(foreign_key="survey.id", index=True)
    # question key -> 1..5, or "na" (not applicable), or the text of an open answer; unanswered keys are absent
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
