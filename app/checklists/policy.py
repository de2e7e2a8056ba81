"""esg_part1.yaml: the ESG Part 1 checklist (items for standards 1.1 to 1.10, who answers each, where it applies,
which automatic check pre-fills it), the rules of the automatic checks an institution varies, and whether the
checklist gates a body's decision and a review's outcome (which outcomes may follow an item "not met").

Each item has its own version (a hash of its content) besides the file's: a response keeps the version of the item
it answered, so editing the file never rewrites an old answer. Start-up refuses an item whose standard is not 1.1 to
1.10, a duplicate key, an automatic check that does not exist, or a standard with no item.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from app.org.models import COMMITTEE_KIND_LABELS
from app.policies import PolicyModel, register_policy
from app.proposals.elements import Participation, Supervision
from app.workflows.reviews import Outcome

# ESG 2015 Part 1, standards for internal quality assurance (short titles).
STANDARDS: dict[str, str] = {
    "1.1": "Policy for quality assurance",
    "1.2": "Design and approval of programmes",
    "1.3": "Student-centred learning, teaching and assessment",
    "1.4": "Student admission, progression, recognition and certification",
    "1.5": "Teaching staff",
    "1.6": "Learning resources and student support",
    "1.7": "Information management",
    "1.8": "Public information",
    "1.9": "On-going monitoring and periodic review of programmes",
    "1.10": "Cyclical external quality assurance",
}


class Body(StrEnum):
    """Who answers an item: a body of the approval route (``CommitteeKind``, the keys of policies/approval.yaml), or
    the periodic review."""

    faculty_council = "faculty_council"
    lll_committee = "lll_committee"
    qa_office = "qa_office"
    final_body = "final_body"
    review = "review"


BODY_LABELS = {
    **{Body(kind.value): label for kind, label in COMMITTEE_KIND_LABELS.items()},
    Body.review: "Periodic review",
}


class Context(StrEnum):
    approval_unbundled = "approval_unbundled"
    approval_standalone = "approval_standalone"
    review = "review"


class AutomaticCheck(StrEnum):
    """The automatic checks there are (app.checklists.automatic has one function for each)."""

    eu_elements = "eu_elements"
    ects_bounds = "ects_bounds"
    ects_hours = "ects_hours"
    outcomes = "outcomes"
    online_assessment = "online_assessment"
    stackability = "stackability"
    duplication = "duplication"
    evidence_of_need = "evidence_of_need"


class Item(PolicyModel):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=60, description="Stable: responses refer to it")
    standard: str = Field(description="The ESG Part 1 standard, 1.1 to 1.10")
    title: str = Field(min_length=3, max_length=300)
    guidance: str = Field(default="", max_length=2000, description="What the reviewer looks for")
    mandatory: bool = False
    body: Body
    contexts: list[Context] = Field(min_length=1)
    automatic: AutomaticCheck | None = None

    @field_validator("standard", mode="before")
    @classmethod
    def _esg_part1(cls, value: object) -> object:
        text = str(value).strip()
        if text not in STANDARDS:
            raise ValueError(f"'{text}' is not an ESG Part 1 standard (1.1 to 1.10)")
        return text

    @property
    def version(self) -> str:
        """A hash of the item's content: what a response records it answered."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


class DuplicationRule(PolicyModel):
    threshold: float = Field(gt=0, le=1, description="Similarity (0-1) from which a published one is a match")
    max_candidates: int = Field(default=200, ge=1, le=5000, description="Published credentials compared at most")


class OnlineAssessmentRule(PolicyModel):
    forms: list[Participation] = Field(description="Forms of participation whose assessment may happen online")
    supervision: list[Supervision] = Field(min_length=1, description="Supervision levels accepted for them")


class StackabilityRule(PolicyModel):
    max_ects_towards_degree: float = Field(gt=0, description="ECTS of micro-credentials stacked towards one degree")


class EvidenceOfNeedRule(PolicyModel):
    min_files_or_links: int = Field(default=1, ge=0)


class CheckRules(PolicyModel):
    duplication: DuplicationRule
    online_assessment: OnlineAssessmentRule
    stackability: StackabilityRule
    evidence_of_need: EvidenceOfNeedRule = Field(default_factory=EvidenceOfNeedRule)


@register_policy("esg_part1.yaml")
class ChecklistPolicy(PolicyModel):
    gate_decisions: bool = Field(
        default=True,
        description="A body cannot approve while a mandatory item of its checklist is unanswered; nor can the QA "
        "office record a review's outcome while a mandatory review item is",
    )
    review_outcomes_after_not_met: list[Outcome] = Field(
        default=[Outcome.continue_with_actions, Outcome.revise, Outcome.suspend, Outcome.retire],
        min_length=1,
        description="The outcomes a review may record once one of its items is answered not met",
    )
    checks: CheckRules
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys_unique_and_standards_covered(self) -> Self:
        seen: set[str] = set()
        for number, item in enumerate(self.items):
            if item.key in seen:
                raise ValueError(f"items.{number}.key: '{item.key}' is used twice (keys must be unique)")
            seen.add(item.key)
        uncovered = [s for s in STANDARDS if not any(i.standard == s for i in self.items)]
        if uncovered:
            raise ValueError(f"no item for standard(s) {', '.join(uncovered)}")
        return self

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)
