"""A proposal (one pass of a micro-credential through approval), its co-proposers, frozen submissions, comments
and evidence files.

A proposal's ``content`` holds the standard elements being edited; each submission freezes a
``proposal_version``. The first proposal of a credential (``app.catalogue.models``) creates the offer, later ones
revise it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db import utcnow
from app.workflows.approval import FINAL_STATES, ProposalStatus

_lock_version = Column("lock_version", Integer, nullable=False, server_default="1")
NOT_FINISHED_SQL = f"status NOT IN ({', '.join(repr(s) for s in sorted(FINAL_STATES))})"
STAGE_DUE_SQL = "stage_due_at IS NOT NULL"


class Proposal(SQLModel, table=True):
    __tablename__ = "proposal"
    __table_args__ = (
        # Covers the "awaiting my decision" and pipeline filters, so counts read the index only.
        Index(
            "ix_proposal_stage",
            "status",
            "current_body",
            "org_unit_id",
            "owner_id",
            "review_round",
            "id",
            "deciding_committee_id",
        ),
        # The deadline sweep: proposals a body is deciding, by due date (the column is empty otherwise).
        Index(
            "ix_proposal_stage_due",
            "stage_due_at",
            "id",
            postgresql_where=text(STAGE_DUE_SQL),
            sqlite_where=text(STAGE_DUE_SQL),
        ),
        # The pipeline: proposals not finished, oldest in stage first, and its counts by faculty and status from
        # the index alone. Partial, so scans never wade through years of finished proposals; queries must state
        # the same predicate literally (NOT_FINISHED_SQL).
        Index(
            "ix_proposal_open_by_age",
            "stage_entered_at",
            "id",
            "status",
            "org_unit_id",
            "kind",
            postgresql_where=text(NOT_FINISHED_SQL),
            sqlite_where=text(NOT_FINISHED_SQL),
        ),
        # The ESG coverage matrix: its rows in title order, filtered by status and faculty and kept to each
        # micro-credential's latest revision, read from the index alone (app/checklists/coverage.py).
        Index("ix_proposal_coverage", "title", "id", "status", "credential_id", "revision_no", "org_unit_id", "kind"),
        UniqueConstraint("credential_id", "revision_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    credential_id: int = Field(foreign_key="credential.id", index=True)
    revision_no: int = 1
    change_type: str = Field(default="new", max_length=10)  # new | major | minor
    kind: str = Field(max_length=20)
    org_unit_id: int = Field(foreign_key="org_unit.id")
    owner_id: int = Field(foreign_key="user_account.id", index=True)
    title: str = Field(default="", max_length=200)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ProposalStatus.draft.value, max_length=30)
    route: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    current_body: str | None = Field(default=None, max_length=30)
    return_to_body: str | None = Field(default=None, max_length=30)
    review_round: int = 0
    submission_count: int = 0
    stage_entered_at: datetime = Field(default_factory=utcnow)
    # While a body is deciding: by when (stage_entered_at + the body's decision_days), and, when nobody in the body
    # may vote on this proposal, the committee that decides the stage instead (empty: the body's own committee).
    stage_due_at: datetime | None = None
    deciding_committee_id: int | None = Field(default=None, foreign_key="committee.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    # A revision may take effect on a later date (the next intake): set by the proposer, confirmed by the last
    # body's approval; until then the catalogue keeps the current edition and says "changes from <date>".
    effective_on: date | None = None
    lock_version: int = Field(default=1, sa_column=_lock_version)

    # Compare-and-set on every UPDATE: a concurrent change makes the second writer fail instead of overwriting.
    __mapper_args__ = {"version_id_col": _lock_version}


class CoProposer(SQLModel, table=True):
    __tablename__ = "co_proposer"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True)


class ProposalVersion(SQLModel, table=True):
    """The content as it was submitted, frozen: what reviewers voted on."""

    __tablename__ = "proposal_version"
    __table_args__ = (UniqueConstraint("proposal_id", "version_no"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    version_no: int
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    submitted_at: datetime = Field(default_factory=utcnow)
    submitted_by_id: int = Field(foreign_key="user_account.id")


class Comment(SQLModel, table=True):
    """Threaded discussion on a proposal. Comments are never deleted; edits keep the earlier text."""

    __tablename__ = "comment"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    parent_id: int | None = Field(default=None, foreign_key="comment.id")
    author_id: int = Field(foreign_key="user_account.id")
    body: str
    created_at: datetime = Field(default_factory=utcnow)
    edited_at: datetime | None = None


class CommentEdit(SQLModel, table=True):
    __tablename__ = "comment_edit"

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="comment.id", index=True, ondelete="CASCADE")
    previous_body: str
    edited_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    """A file given as evidence (an employer's letter, a survey). Stored in the database, so every worker on every
    host serves it; size and types are limited by policy."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=120)
    size: int
    description: str = Field(default="", max_length=500)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by_id: int = Field(foreign_key="user_account.id")
    uploaded_at: datetime = Field(default_factory=utcnow)
