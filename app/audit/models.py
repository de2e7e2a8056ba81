"""The append-only audit log. Every state change, vote, edit, comment and admin change writes one row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.db import utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    actor_role: str = Field(default="", max_length=64)
    entity_type: str = Field(max_length=40)
    entity_id: int
    action: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str | None = Field(default=None, max_length=40)
    policy_version: str | None = Field(default=None, max_length=80)
    comment: str = Field(default="")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_role: str
    entity_type: str
    entity_id: int
    action: str
    from_state: str | None
    to_state: str | None
    policy_version: str | None
    comment: str
    data: dict[str, Any]
