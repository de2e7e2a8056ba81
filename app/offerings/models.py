"""An offering is one run of a published micro-credential: its dates, capacity, language and mode, and the
figures the owner records once it has ended (enrolled, completed, passed, dropped out)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, Integer
from sqlmodel import Field, SQLModel

from app.db import utcnow

# Compare-and-set: two people editing the same offering's figures never overwrite each other silently.
_lock_version = Column("lock_version", Integer, nullable=False, server_default="1")


class Offering(SQLModel, table=True):
    __tablename__ = "offering"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint(
            "completed IS NULL OR enrolled IS NULL OR completed <= enrolled", name="completed_within_enrolled"
        ),
        CheckConstraint("passed IS NULL OR completed IS NULL OR passed <= completed", name="passed_within_completed"),
        # The runs of one micro-credential in date order (its page, the review's figures).
        Index("ix_offering_credential", "credential_id", "starts_on"),
        # Offerings that end on a given day (the scheduler: feedback surveys, monitoring after every run).
        Index("ix_offering_ends_on", "ends_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    credential_id: int = Field(foreign_key="credential.id")
    starts_on: date
    ends_on: date
    capacity: int | None = None
    language: str = Field(default="en", max_length=2)  # ISO 639-1 code: the feedback questionnaire follows it
    participation_form: str = Field(max_length=20)  # app.proposals.elements.Participation
    # Figures, recorded once the offering has ended (None: not yet recorded).
    enrolled: int | None = None
    completed: int | None = None
    passed: int | None = None
    dropped_out: int | None = None
    figures_recorded_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int = Field(foreign_key="user_account.id")
    lock_version: int = Field(default=1, sa_column=_lock_version)

    __mapper_args__ = {"version_id_col": _lock_version}

    @property
    def has_figures(self) -> bool:
        return self.figures_recorded_at is not None

    @property
    def completion_rate(self) -> float | None:
        """Completed over enrolled, or None when the figures are missing or nobody enrolled."""
        if self.enrolled and self.completed is not None:
            return self.completed / self.enrolled
        return None
