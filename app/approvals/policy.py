"""approval.yaml: the bodies each kind of micro-credential goes through (and a minor revision's route), each
body's voting rule, where a resubmission goes, whether approval publishes at once, the deadlines, reminders and
escalations of a stage, and who decides a stage when nobody in the body may vote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from app.org.models import CommitteeKind
from app.policies import PolicyModel, register_policy


class VotingRule(StrEnum):
    chair = "chair"  # the chair's vote is the body's decision
    majority = "majority"  # more than half of the votes cast, once a quorum has voted
    unanimous = "unanimous"  # every eligible member, all on the same side
    m_of_n = "m_of_n"  # the first side to reach m votes


class VotingPolicy(PolicyModel):
    rule: VotingRule
    quorum: float = Field(default=0.5, gt=0, le=1, description="Share of eligible members who must vote")
    m: int | None = Field(default=None, ge=1)
    tie_break: Literal["chair", "changes_requested"] = Field(
        default="changes_requested",
        description="Majority: when every eligible member has voted and no side has more than half, the chair's "
        "side wins (chair) or the proposal goes back for changes (changes_requested)",
    )

    @model_validator(mode="after")
    def _m_given_for_m_of_n(self) -> Self:
        if (self.rule is VotingRule.m_of_n) != (self.m is not None):
            raise ValueError("'m' is required for rule m_of_n and only allowed there")
        return self


# Bodies always meet in this order; a route is a selection from it (the state machine has one state per body).
BODY_ORDER = [
    CommitteeKind.faculty_council,
    CommitteeKind.lll_committee,
    CommitteeKind.qa_office,
    CommitteeKind.final_body,
]


# The alerts about one stage, by name (recorded once each in ``stage_alert``).
ESCALATED_TO_CHAIR = "escalated_to_chair"
ESCALATED_TO_QA = "escalated_to_qa"


def reminder_step(days_before: int) -> str:
    return f"reminder_{days_before}d"


@dataclass(frozen=True)
class StageStep:
    """An alert about a stage, due from ``start`` after the stage's due date (negative: before it) until ``end``
    (None: for as long as the stage lasts). A reminder's window closes when the next reminder's opens, so a sweep
    that was down for a while sends the latest reminder only, never two at once."""

    name: str
    start: timedelta
    end: timedelta | None

    def is_due(self, due_at: datetime, now: datetime) -> bool:
        return due_at + self.start <= now and (self.end is None or now < due_at + self.end)


class DeadlinePolicy(PolicyModel):
    """How long each body has to decide; who is reminded before, and who is told after, the due date."""

    decision_days: dict[CommitteeKind, Annotated[int, Field(ge=1)]]
    reminder_days_before: list[int] = Field(default_factory=list)
    escalate_to_chair_after_days: int = Field(ge=0)
    escalate_to_qa_after_days: int = Field(ge=0)
    condition_reminder_days_before: int = Field(ge=1)

    @field_validator("reminder_days_before")
    @classmethod
    def _reminders_before_the_due_date(cls, days: list[int]) -> list[int]:
        if any(d < 1 for d in days):
            raise ValueError("a reminder comes before the due date: give whole days before it, 1 or more")
        if len(set(days)) != len(days):
            raise ValueError("lists the same day twice")
        return sorted(days, reverse=True)

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.reminder_days_before:
            earliest = self.reminder_days_before[0]
            for body, days in self.decision_days.items():
                if earliest >= days:
                    raise ValueError(
                        f"reminder_days_before: a reminder {earliest} days before the due date would come before "
                        f"the {body.value} even starts deciding (decision_days.{body.value}: {days})"
                    )
        if self.escalate_to_qa_after_days < self.escalate_to_chair_after_days:
            raise ValueError(
                "escalate_to_qa_after_days must not be less than escalate_to_chair_after_days: the chair is told "
                "first, then the QA office"
            )
        return self

    def due_at(self, body: CommitteeKind, entered_at: datetime) -> datetime:
        return entered_at + timedelta(days=self.decision_days[body])

    def stage_steps(self) -> list[StageStep]:
        """Every alert about a stage, in the order they fall due."""
        opens = [-timedelta(days=d) for d in self.reminder_days_before]  # earliest first
        # A reminder is moot once the next one, or the due date, has come.
        closes = [*opens[1:], timedelta(0)][: len(opens)]
        return [
            *(
                StageStep(reminder_step(d), start, end)
                for d, start, end in zip(self.reminder_days_before, opens, closes, strict=True)
            ),
            StageStep(ESCALATED_TO_CHAIR, timedelta(days=self.escalate_to_chair_after_days), None),
            StageStep(ESCALATED_TO_QA, timedelta(days=self.escalate_to_qa_after_days), None),
        ]


@register_policy("approval.yaml")
class ApprovalPolicy(PolicyModel):
    routes: dict[Literal["standalone", "unbundled"], list[CommitteeKind]]
    minor_change_route: list[CommitteeKind]
    voting: dict[CommitteeKind, VotingPolicy]
    resubmit_to: Literal["same_body", "start"] = "same_body"
    publish_on_approval: bool = True
    deadlines: DeadlinePolicy
    # Who decides a stage when nobody in the body may vote on the proposal: the first of these bodies (never the
    # stage's own) with a member who may.
    when_no_eligible_voter: list[CommitteeKind] = Field(min_length=1)

    @field_validator("when_no_eligible_voter")
    @classmethod
    def _institution_wide_substitutes(cls, bodies: list[CommitteeKind]) -> list[CommitteeKind]:
        if CommitteeKind.faculty_council in bodies:
            raise ValueError("a faculty council belongs to one faculty: only institution-wide bodies can stand in")
        if len(set(bodies)) != len(bodies):
            raise ValueError("lists a body twice")
        return bodies

    def route_for(self, kind: str) -> list[CommitteeKind]:
        """The bodies a new proposal of this kind goes through."""
        if kind not in ("standalone", "unbundled"):
            raise ValueError(f"unknown kind {kind!r}")
        return self.routes["standalone" if kind == "standalone" else "unbundled"]

    @model_validator(mode="after")
    def _routes_are_usable(self) -> Self:
        for kind in ("standalone", "unbundled"):
            if not self.routes.get(kind):
                raise ValueError(f"routes.{kind} must list at least one body")
        for name, route in [*self.routes.items(), ("minor_change_route", self.minor_change_route)]:
            if len(set(route)) != len(route):
                raise ValueError(f"route {name} lists a body twice")
            if route != sorted(route, key=BODY_ORDER.index):
                raise ValueError(f"route {name} must keep the order {' -> '.join(b.value for b in BODY_ORDER)}")
            for body in route:
                if body not in self.voting:
                    raise ValueError(f"route {name} uses {body.value}, which has no voting rule")
                if body not in self.deadlines.decision_days:
                    raise ValueError(f"route {name} uses {body.value}, which has no deadlines.decision_days")
        for body in self.when_no_eligible_voter:
            if body not in self.voting:
                raise ValueError(f"when_no_eligible_voter names {body.value}, which has no voting rule")
        return self
