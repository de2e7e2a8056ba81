"""Institution rules as data.

Every YAML file in the policy directory is parsed at start-up into a frozen pydantic model. A file that
is missing, unknown or invalid stops start-up with a message naming the file and the field. Each policy
carries a version (a hash of its content) that decisions record, so an audit row says which rules applied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar

import yaml
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from app.org.models import CommitteeKind


class PolicyError(Exception):
    """A policy file is missing or invalid. The message names the file and the field."""


class PolicyModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    _version: str = PrivateAttr(default="unversioned")

    @property
    def version(self) -> str:
        return self._version


# --- institution.yaml ----------------------------------------------------------------------------


class InstitutionPolicy(PolicyModel):
    name: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code of the issuer")
    region: str = ""
    awarding_body: str = Field(min_length=1)
    quality_assurance: str = Field(min_length=1, description="Default 'type of quality assurance' element")
    national_framework: str = ""


# --- approval.yaml -------------------------------------------------------------------------------


class VotingRule(StrEnum):
    chair = "chair"  # the chair's vote is the body's decision
    majority = "majority"  # more than half of the votes cast, once a quorum has voted
    unanimous = "unanimous"  # every eligible member, all on the same side
    m_of_n = "m_of_n"  # the first side to reach m votes


class VotingPolicy(PolicyModel):
    rule: VotingRule
    quorum: float = Field(default=0.5, gt=0, le=1, description="Share of eligible members who must vote")
    m: int | None = Field(default=None, ge=1)

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


# --- credentials.yaml ----------------------------------------------------------------------------


class Band(PolicyModel):
    min: float = Field(ge=0)
    max: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class AttachmentPolicy(PolicyModel):
    max_mb: float = Field(gt=0, le=100)
    allowed_types: dict[str, str] = Field(min_length=1, description="Media type -> file extension shown to users")


class CredentialPolicy(PolicyModel):
    ects: Band = Field(description="Hard bounds: a proposal outside them cannot be submitted")
    ects_recommended: Band = Field(description="Recommended band: outside it the form warns only")
    hours_per_ects: Band
    eqf_levels: list[int] = Field(min_length=1)
    required_fields: dict[Literal["common", "standalone", "unbundled"], list[str]]
    major_change_fields: list[str]
    outcome_verbs: list[str] = Field(default_factory=list, description="Action verbs an outcome may start with")
    outcome_verbs_discouraged: list[str] = Field(default_factory=list, description="Verbs that cannot be assessed")
    attachments: AttachmentPolicy

    @model_validator(mode="after")
    def _levels_and_fields_valid(self) -> Self:
        from app.proposals.elements import Elements  # the elements are code; the policy names them

        if any(level < 1 or level > 8 for level in self.eqf_levels):
            raise ValueError("eqf_levels must be between 1 and 8")
        known = set(Elements.model_fields)
        for group, names in [*self.required_fields.items(), ("major_change_fields", self.major_change_fields)]:
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(f"{group} names unknown element(s): {', '.join(unknown)}")
        return self


# --- loading -------------------------------------------------------------------------------------

P = TypeVar("P", bound=PolicyModel)
POLICY_FILES: dict[str, type[PolicyModel]] = {
    "institution.yaml": InstitutionPolicy,
    "approval.yaml": ApprovalPolicy,
    "credentials.yaml": CredentialPolicy,
}


@dataclass(frozen=True)
class Policies:
    institution: InstitutionPolicy
    approval: ApprovalPolicy
    credentials: CredentialPolicy

    @property
    def versions(self) -> dict[str, str]:
        return {name: getattr(self, name.removesuffix(".yaml")).version for name in POLICY_FILES}


def load_policy_file(path: Path, model: type[PolicyModel]) -> PolicyModel:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file is missing") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc']) or '(top level)'}': {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"{path}: {problems}") from None
    parsed._version = f"{path.stem}@{hashlib.sha256(raw).hexdigest()[:12]}"
    return parsed


def load_policies(directory: Path) -> Policies:
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy directory does not exist")
    unknown = sorted(p.name for p in directory.glob("*.y*ml") if p.name not in POLICY_FILES)
    if unknown:
        raise PolicyError(f"{directory / unknown[0]}: unknown policy file (expected one of {', '.join(POLICY_FILES)})")

    def load(name: str, model: type[P]) -> P:
        parsed = load_policy_file(directory / name, model)
        assert isinstance(parsed, model)
        return parsed

    return Policies(
        institution=load("institution.yaml", InstitutionPolicy),
        approval=load("approval.yaml", ApprovalPolicy),
        credentials=load("credentials.yaml", CredentialPolicy),
    )


async def get_policies(request: Request) -> Policies:
    """The policies loaded at start-up (a request dependency)."""
    policies: Policies = request.app.state.policies
    return policies


PoliciesDep = Annotated[Policies, Depends(get_policies)]
