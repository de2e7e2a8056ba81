"""API schemas for proposals, votes, conditions and comments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, StrictInt

from app import limits
from app.approvals.voting import Choice
from app.proposals.elements import Elements, Kind


class ProposalCreate(BaseModel):
    kind: Kind
    org_unit_id: StrictInt | None = Field(default=None, description="Owning faculty; defaults to the proposer's")
    co_proposer_ids: list[StrictInt] = []
    elements: Elements = Field(default_factory=Elements)


class ProposalUpdate(BaseModel):
    elements: Elements | None = Field(
        default=None, description="Elements to change; those not sent stay as they are, null clears one"
    )
    co_proposer_ids: list[StrictInt] | None = None


class CheckIn(BaseModel):
    kind: Kind
    elements: dict[str, Any] = Field(description="Raw element values, as typed; nothing is saved")


class CheckOut(BaseModel):
    errors: dict[str, str]
    warnings: dict[str, str]
    missing: list[str]
    completeness: int


class ProposalPublic(BaseModel):
    id: int
    credential_id: int
    revision_no: int
    change_type: str
    kind: str
    org_unit_id: int
    owner_id: int
    co_proposer_ids: list[int]
    title: str
    status: str
    status_label: str
    current_body: str | None
    route: list[str]
    review_round: int
    submission_count: int
    stage_entered_at: datetime
    stage_due_at: datetime | None = Field(description="When the body deciding now is due to have decided")
    deciding_committee_id: int | None = Field(
        description="The committee deciding this stage instead of the body's own, as nobody in it may vote"
    )
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    effective_on: date | None = Field(default=None, description="When an approved revision takes effect")
    elements: dict[str, Any]
    completeness: int
    missing: list[str]
    warnings: dict[str, str]
    allowed_actions: list[str] = Field(description="What the caller may do now")


class ConditionIn(BaseModel):
    text: str = Field(max_length=limits.CONDITION_TEXT)
    due_on: date


class VoteIn(BaseModel):
    choice: Choice
    comment: str = Field(default="", max_length=limits.VOTE_COMMENT)
    conditions: list[ConditionIn] = Field(default=[], max_length=20)


class DecisionPublic(BaseModel):
    body: str
    outcome: str
    rule: str
    tally: dict[str, Any]
    comment: str
    decided_at: datetime
    policy_version: str


class VoteOut(BaseModel):
    proposal_status: str
    choice: str
    decision: DecisionPublic | None


class VotePublic(BaseModel):
    voter_id: int
    voter_name: str
    body: str
    review_round: int
    choice: str
    comment: str
    conditions: list[dict[str, Any]]
    updated_at: datetime


class ConditionPublic(BaseModel):
    id: int
    proposal_id: int
    text: str
    due_on: date
    status: str
    evidence: str


class ConditionMetIn(BaseModel):
    evidence: str = Field(max_length=limits.EVIDENCE)


class ConditionSendBackIn(BaseModel):
    reason: str = Field(max_length=limits.REASON)


class CommentIn(BaseModel):
    body: str = Field(max_length=limits.COMMENT)
    parent_id: int | None = None


class CommentEditIn(BaseModel):
    body: str = Field(max_length=limits.COMMENT)


class CommentPublic(BaseModel):
    id: int
    proposal_id: int
    parent_id: int | None
    author_id: int
    body: str
    created_at: datetime
    edited_at: datetime | None
    previous_bodies: list[str] = []


class VersionPublic(BaseModel):
    version_no: int
    submitted_at: datetime
    content: dict[str, Any]


class RowPublic(BaseModel):
    id: int
    title: str
    kind: str
    status: str
    status_label: str
    current_body: str | None
    owner: str
    faculty: str
    days_in_stage: int
    open_conditions: int
    votes_cast: int
    due_at: datetime | None
    overdue_days: int
    decided_by: str | None = Field(description="The committee deciding instead of the body's own, if any")


class SubmitIn(BaseModel):
    responses: dict[str, str] = Field(
        default_factory=dict,
        description="When resubmitting after changes were requested: an answer to every point raised, by its key "
        "(see GET /proposals/{id}/changes-requested)",
    )


class RoundPublic(BaseModel):
    review_round: int
    body: str
    number: int = Field(description="The round's number among the rounds at this body")
    label: str = Field(description='In words: "Faculty council, round 2"')
    votes: list[VotePublic]
    decision: DecisionPublic | None


class PointPublic(BaseModel):
    key: str = Field(description="The key its answer goes under when resubmitting")
    who: str
    choice: str
    comment: str
    conditions: list[dict[str, Any]]


class ChangesRequestedPublic(BaseModel):
    round_label: str
    decision: DecisionPublic
    points: list[PointPublic]


class VotingPublic(BaseModel):
    round_label: str | None = Field(description='The round in words: "Faculty council, round 2"')
    rule: str = Field(description="The body's rule in words")
    eligible: int = Field(description="Members who may vote on this proposal")
    voted: int
    quorum: int | None = Field(description="Votes needed before a majority counts (majority rule only)")
    needed: dict[str, int | None] = Field(
        description="By outcome: how many more votes make it the decision (null: it cannot win any more)"
    )


class CredentialRowPublic(BaseModel):
    credential_id: int
    title: str
    current_proposal_id: int | None = Field(description="The proposal that published the current edition")
    open_proposal_id: int | None = Field(description="The proposal under way: a draft or an open revision")
    status: str = Field(description="The open proposal's status, else published, else how the latest ended")
    status_label: str


class EffectiveDateIn(BaseModel):
    effective_on: date | None = Field(
        description="From when the approved revision takes effect (after today); null: as soon as it is approved"
    )
