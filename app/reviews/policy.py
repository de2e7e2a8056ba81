"""reviews.yaml: how often a published micro-credential is reviewed, per kind, and what happens around a review.

Micro-credentials are reviewed more often than degree programmes: a monitoring report after every offering and at
least every ``monitoring.at_least_every_months``, and a full review every ``full_review_every_months``, which must
be strictly shorter than the degree cadence it is compared with (``degree_cadence_months``), or start-up stops.
A review opens ``lead_time_days`` before its due date; the owner is reminded ``reminder_days_before`` it; after it
the owner, then the head of the faculty (chair of its faculty council), then the QA office are told
(``escalation``); ``overdue_consequence.days_after_due`` days after the due date, intake stops and the
micro-credential's lifecycle becomes "suspended" until the review is submitted and closed. ``thresholds`` open a
full review on their own.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from app.policies import PolicyModel, register_policy


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it is shorter (31 January + 1 month: 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(day.day, last))


EscalationTarget = Literal["owner", "head_of_faculty", "qa_office"]


class Monitoring(PolicyModel):
    after_every_offering: bool = Field(description="A monitoring report falls due after each offering ends")
    days_after_offering: int = Field(ge=1, le=365, description="Days after an offering's end its report is due")
    at_least_every_months: int = Field(ge=1, le=24, description="Longest gap between two monitoring reports")


class EscalationStep(PolicyModel):
    days_after_due: int = Field(ge=0, le=365)
    to: list[EscalationTarget] = Field(min_length=1)


class OverdueConsequence(PolicyModel):
    days_after_due: int = Field(ge=0, le=730, description="Days after the due date on which intake stops")
    lifecycle: Literal["suspended"] = "suspended"


class Thresholds(PolicyModel):
    completion_rate_below: float | None = Field(default=None, gt=0, le=1)
    # Learner feedback that calls for a review (feedback.yaml's review_triggers: group or item means, response
    # rate) opens a full review.
    learner_feedback: bool = True
    major_revision: bool = False


class KindCadence(PolicyModel):
    degree_cadence_months: int = Field(ge=12, le=240, description="The degree-programme cadence compared with")
    full_review_every_months: int = Field(ge=6, le=120)
    monitoring: Monitoring
    lead_time_days: int = Field(ge=0, le=365)
    reminder_days_before: list[int] = Field(default_factory=list)
    escalation: list[EscalationStep] = Field(default_factory=list)
    overdue_consequence: OverdueConsequence
    action_reminder_days_before: int = Field(default=7, ge=0, le=90)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @field_validator("full_review_every_months")
    @classmethod
    def _shorter_than_degrees(cls, value: int, info: ValidationInfo) -> int:
        degree = info.data.get("degree_cadence_months")
        if degree is not None and value >= degree:
            raise ValueError(
                f"the full-review interval ({value} months) must be strictly shorter than the degree-programme "
                f"cadence ({degree} months): micro-credentials are reviewed more often than degrees"
            )
        return value

    @field_validator("reminder_days_before")
    @classmethod
    def _positive_days(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 365 for d in value):
            raise ValueError("each reminder is 1 to 365 days before the due date")
        return sorted(set(value), reverse=True)

    def monitoring_due(self, after: date) -> date:
        return add_months(after, self.monitoring.at_least_every_months)

    def full_review_due(self, after: date) -> date:
        return add_months(after, self.full_review_every_months)


KINDS = ("standalone", "unbundled")


@register_policy("reviews.yaml")
class ReviewPolicy(PolicyModel):
    kinds: dict[str, KindCadence]

    @field_validator("kinds")
    @classmethod
    def _every_kind(cls, value: dict[str, KindCadence]) -> dict[str, KindCadence]:
        missing = set(KINDS) - set(value)
        if missing:
            raise ValueError(f"give the cadence of every kind (missing: {', '.join(sorted(missing))})")
        unknown = set(value) - set(KINDS)
        if unknown:
            raise ValueError(f"no such kind: {', '.join(sorted(unknown))} (kinds: {', '.join(KINDS)})")
        return value

    def of(self, kind: str) -> KindCadence:
        return self.kinds[kind]
