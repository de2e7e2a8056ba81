"""JSON shapes of committee tools' API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class DelegationIn(BaseModel):
    substitute_id: int = Field(description="Who stands in for the member")
    starts_on: date
    ends_on: date
    reason: str = Field(default="", max_length=300)
    member_id: int | None = Field(default=None, description="Whose substitute (administrators only); default: me")


class DelegationPublic(BaseModel):
    id: int
    member_id: int
    member_name: str
    substitute_id: int
    substitute_name: str
    starts_on: date
    ends_on: date
    reason: str
    revoked_at: datetime | None
    current: bool


class WatchPublic(BaseModel):
    proposal_id: int
    watching: bool
