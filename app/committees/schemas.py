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


class AgendaIn(BaseModel):
    committee_id: int
    meets_on: date
    title: str = Field(default="", max_length=200)


class AgendaItemPublic(BaseModel):
    id: int
    proposal_id: int
    proposal_title: str
    position: int
    note: str
    review_round: int
    still_awaiting: bool
    outcome: str | None
    outcome_comment: str


class AgendaPublic(BaseModel):
    id: int
    committee_id: int
    committee_name: str
    meets_on: date
    title: str
    status: str
    revision: int = Field(description="Send it back with changes of the items: a stale one is refused (409)")
    allowed_actions: list[str]
    items: list[AgendaItemPublic]


class AgendaOrderIn(BaseModel):
    item_ids: list[int] = Field(description="Every item of the agenda, in the new order")
    revision: int | None = None


class AgendaItemIn(BaseModel):
    proposal_id: int
    revision: int | None = None


class AgendaNoteIn(BaseModel):
    note: str = Field(max_length=2000)
    revision: int | None = None


class MinuteConditionIn(BaseModel):
    text: str = Field(max_length=1000)
    due_on: date


class MinuteIn(BaseModel):
    item_id: int
    outcome: str = Field(description="approve, approve_with_conditions, request_changes, reject, or none (no decision)")
    comment: str = Field(default="", max_length=2000)
    conditions: list[MinuteConditionIn] = Field(
        default=[], max_length=20, description="With approve_with_conditions: at least one, each due in the future"
    )


class MinutesIn(BaseModel):
    items: list[MinuteIn]


class ReassignIn(BaseModel):
    committee_id: int = Field(description="The committee that decides the stage from now on")
    reason: str = Field(min_length=1, max_length=4000)
