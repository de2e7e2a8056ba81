"""The public catalogue's tables: a micro-credential (the lasting offer) and its published editions.

A *credential* is the lasting offer: its published editions are ``credential_version`` rows and its catalogue
columns mirror the current edition. Proposals (``app.proposals``) create and revise it; publication
(``app.catalogue.service.record_edition``) writes an edition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import utcnow


class Credential(SQLModel, table=True):
    __tablename__ = "credential"
    __table_args__ = (Index("ix_credential_catalogue", "current_version_no", "title"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    owner_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # Mirror of the current published edition, for the catalogue's search and filters (0: never published).
    current_version_no: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    title: str = Field(default="", max_length=200)
    ects: float | None = Field(default=None, index=True)
    eqf_level: int | None = Field(default=None, index=True)
    participation_form: str | None = Field(default=None, max_length=20)
    search_text: str = Field(default="")
    published_at: datetime | None = None


class CredentialVersion(SQLModel, table=True):
    """A published edition in the catalogue, with the dates it was in force and what changed."""

    __tablename__ = "credential_version"
    __table_args__ = (UniqueConstraint("credential_id", "version_no"),)

    id: int | None = Field(default=None, primary_key=True)
    credential_id: int = Field(foreign_key="credential.id", index=True)
    version_no: int
    proposal_id: int = Field(foreign_key="proposal.id")
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    change_type: str = Field(default="new", max_length=10)
    changes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    effective_from: datetime = Field(default_factory=utcnow)
    effective_to: datetime | None = None


class CatalogueStamp(SQLModel, table=True):
    """One row: how often the public catalogue has changed, and when last. Every transaction that changes what the
    catalogue shows raises ``generation`` (see ``app.catalogue.cache``), so a response cached under an older
    generation is never served again once that transaction has committed, in any process."""

    __tablename__ = "catalogue_stamp"

    id: int = Field(default=1, primary_key=True)
    generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    changed_at: datetime = Field(default_factory=utcnow)
