"""The content of a micro-credential proposal: the EU standard elements plus what the committees need.

``Elements`` is the typed content, stored as JSON on the proposal and frozen in every version. ``FIELDS`` describes
each element for forms, completeness, the redline and the catalogue (label, section, widget, hint), so a new element
is one entry here and one attribute on ``Elements``. Which elements are required, and the bounds they must respect,
come from ``policies/credentials.yaml`` (its model: ``app.proposals.policy``); ``app.proposals.checks`` checks the
elements against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app import limits
from app.forms import humanise


class Kind(StrEnum):
    standalone = "standalone"
    unbundled = "unbundled"


KIND_LABELS = {Kind.standalone: "Standalone", Kind.unbundled: "Unbundled from a degree programme"}


class Participation(StrEnum):
    online = "online"
    onsite = "onsite"
    blended = "blended"


class Supervision(StrEnum):
    unsupervised_no_id = "unsupervised_no_id"
    supervised_no_id = "supervised_no_id"
    supervised_with_id = "supervised_with_id"


class AssessmentType(StrEnum):
    written_exam = "written_exam"
    oral_exam = "oral_exam"
    project = "project"
    portfolio = "portfolio"
    practical = "practical"
    presentation = "presentation"
    assignment = "assignment"
    peer_assessment = "peer_assessment"


class Stackability(StrEnum):
    standalone = "standalone"
    stackable = "stackable"


CHOICES: dict[str, dict[str, str]] = {
    "participation_form": {"online": "Online", "onsite": "On site", "blended": "Blended"},
    "supervision": {
        "unsupervised_no_id": "Unsupervised, no identity verification",
        "supervised_no_id": "Supervised, no identity verification",
        "supervised_with_id": "Supervised online or on site, with identity verification",
    },
    "assessment_types": {
        "written_exam": "Written exam",
        "oral_exam": "Oral exam",
        "project": "Project",
        "portfolio": "Portfolio",
        "practical": "Practical or lab work",
        "presentation": "Presentation",
        "assignment": "Written assignment",
        "peer_assessment": "Peer assessment",
    },
    "stackability": {"standalone": "Standalone", "stackable": "Stackable towards a larger credential"},
    "qf_ehea_cycle": {
        "short": "Short cycle",
        "first": "First cycle",
        "second": "Second cycle",
        "third": "Third cycle",
    },
}


class Elements(BaseModel):
    """All elements are optional while drafting; completeness is checked against the policy on submission."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=3, max_length=200)
    awarding_bodies: list[str] = Field(default_factory=list, max_length=10)
    issuer_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    issuer_region: str | None = Field(default=None, max_length=100)
    learning_outcomes: list[str] = Field(default_factory=list, max_length=30)
    ects: float | None = Field(default=None, gt=0, le=60)
    hours: int | None = Field(default=None, gt=0, le=2000)
    eqf_level: int | None = Field(default=None, ge=1, le=8)
    qf_ehea_cycle: Literal["short", "first", "second", "third"] | None = None
    national_level: str | None = Field(default=None, max_length=100)
    assessment_types: list[AssessmentType] = Field(default_factory=list)
    assessment_description: str | None = Field(default=None, max_length=4000)
    participation_form: Participation | None = None
    participation_description: str | None = Field(default=None, max_length=2000)
    quality_assurance: str | None = Field(default=None, max_length=1000)
    prerequisites: str | None = Field(default=None, max_length=2000)
    supervision: Supervision | None = None
    stackability: Stackability | None = None
    stackable_towards: str | None = Field(default=None, max_length=500)
    further_information: str | None = Field(default=None, max_length=4000)
    parent_programme_id: int | None = None
    parent_module_id: int | None = None
    target_group: str | None = Field(default=None, max_length=2000)
    need: str | None = Field(default=None, max_length=4000)
    labour_market_evidence: str | None = Field(default=None, max_length=4000)
    evidence_links: list[str] = Field(default_factory=list, max_length=20)
    partners: str | None = Field(default=None, max_length=2000)
    languages: list[str] = Field(default_factory=list, max_length=10)
    planned_start: date | None = None
    planned_end: date | None = None
    capacity: int | None = Field(default=None, ge=1, le=100000)
    fee_eur: float | None = Field(default=None, ge=0, le=100000)
    # Which assessment types cover which learning outcome: {"1": ["project", ...]} (1-based outcome number).
    lo_assessment: dict[str, list[AssessmentType]] = Field(default_factory=dict)

    @field_validator("awarding_bodies", "learning_outcomes", "evidence_links", "languages", mode="before")
    @classmethod
    def _split_lines(cls, value: Any) -> Any:
        if isinstance(value, str):
            separator = "," if "\n" not in value and "," in value else "\n"
            return [item.strip() for item in value.split(separator) if item.strip()]
        return value

    @field_validator(
        "ects", "hours", "eqf_level", "capacity", "fee_eur", "parent_programme_id", "parent_module_id", mode="before"
    )
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("Enter a number (true and false are not numbers)")
        return value

    @field_validator("issuer_country", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("awarding_bodies", "learning_outcomes", "evidence_links", "languages")
    @classmethod
    def _items_not_too_long(cls, items: list[str]) -> list[str]:
        for number, item in enumerate(items, start=1):
            if len(item) > limits.LIST_ITEM:
                raise ValueError(f"Line {number} is too long: at most {limits.LIST_ITEM:,} characters")
        return items

    @field_validator("evidence_links")
    @classmethod
    def _links_are_urls(cls, links: list[str]) -> list[str]:
        for link in links:
            if not link.startswith(("https://", "http://")):
                raise ValueError(f"'{link}' is not a web address (it must start with https://)")
        return links


class Section(StrEnum):
    identity = "Identification and issuer"
    outcomes = "Learning outcomes, workload and level"
    assessment = "Assessment and participation"
    need = "Target group and need"
    context = "Integration, prerequisites and further information"
    delivery = "Delivery"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    section: Section
    widget: Literal["text", "textarea", "lines", "number", "select", "checks", "date", "programme", "module"]
    hint: str = ""
    eu_element: bool = False  # one of the EU standard elements (Annex I) describing the offer
    from_record: bool = False  # filled from an institutional record (app.external_qa), shown read-only

    @property
    def unbundled_only(self) -> bool:
        return self.widget in ("programme", "module")


FIELDS: list[FieldSpec] = [
    FieldSpec("title", "Title", Section.identity, "text", eu_element=True),
    FieldSpec("awarding_bodies", "Awarding body or bodies", Section.identity, "lines", "One per line.", True),
    FieldSpec("issuer_country", "Country of the issuer", Section.identity, "text", "Two-letter code, e.g. BE.", True),
    FieldSpec("issuer_region", "Region of the issuer", Section.identity, "text", eu_element=True),
    FieldSpec(
        "learning_outcomes",
        "Learning outcomes",
        Section.outcomes,
        "lines",
        "One per line, each an action verb and its object, e.g. 'Analyse energy data with Python'.",
        True,
    ),
    FieldSpec("ects", "Notional workload (ECTS)", Section.outcomes, "number", eu_element=True),
    FieldSpec("hours", "Notional workload (hours)", Section.outcomes, "number", eu_element=True),
    FieldSpec("eqf_level", "EQF level", Section.outcomes, "select", eu_element=True),
    FieldSpec("qf_ehea_cycle", "QF-EHEA cycle", Section.outcomes, "select", eu_element=True),
    FieldSpec("national_level", "National framework level", Section.outcomes, "text", eu_element=True),
    FieldSpec("assessment_types", "Type(s) of assessment", Section.assessment, "checks", eu_element=True),
    FieldSpec("assessment_description", "Assessment: description", Section.assessment, "textarea", eu_element=True),
    FieldSpec("lo_assessment", "Which assessment covers which outcome", Section.assessment, "checks"),
    FieldSpec("participation_form", "Form of participation", Section.assessment, "select", eu_element=True),
    FieldSpec("participation_description", "Participation: description", Section.assessment, "textarea"),
    FieldSpec("supervision", "Supervision and identity verification", Section.assessment, "select", eu_element=True),
    FieldSpec(
        "quality_assurance",
        "Type of quality assurance",
        Section.assessment,
        "textarea",
        "Filled in from the institution's external quality assurance record, which administrators keep up to date.",
        eu_element=True,
        from_record=True,
    ),
    FieldSpec("target_group", "Target group", Section.need, "textarea", "Who is this for?"),
    FieldSpec("need", "Need it answers", Section.need, "textarea", "Why learners and society need it."),
    FieldSpec(
        "labour_market_evidence",
        "Evidence of labour-market need",
        Section.need,
        "textarea",
        "Employer or stakeholder statements and what they say.",
    ),
    FieldSpec("evidence_links", "Links to evidence", Section.need, "lines", "One web address per line."),
    FieldSpec("partners", "Partners", Section.need, "textarea", "Employers or institutions involved."),
    FieldSpec("parent_programme_id", "Parent degree programme", Section.context, "programme"),
    FieldSpec("parent_module_id", "Parent module", Section.context, "module"),
    FieldSpec("prerequisites", "Prerequisites", Section.context, "textarea", eu_element=True),
    FieldSpec("stackability", "Integration / stackability", Section.context, "select", eu_element=True),
    FieldSpec(
        "stackable_towards",
        "Stackable towards",
        Section.context,
        "text",
        "Named programme or credential.",
        True,
    ),
    FieldSpec("further_information", "Further information", Section.context, "textarea", eu_element=True),
    FieldSpec("languages", "Language(s)", Section.delivery, "lines", "Comma-separated, e.g. English, Dutch."),
    FieldSpec("planned_start", "Planned start", Section.delivery, "date"),
    FieldSpec("planned_end", "Planned end", Section.delivery, "date"),
    FieldSpec("capacity", "Capacity (learners per offering)", Section.delivery, "number"),
    FieldSpec("fee_eur", "Fee (EUR)", Section.delivery, "number"),
]
FIELD_BY_NAME = {f.name: f for f in FIELDS}
LABELS = {f.name: f.label for f in FIELDS}


def is_filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def parse(values: dict[str, Any]) -> tuple[Elements, dict[str, str]]:
    """Parse raw values into Elements; invalid fields are reported and left empty, the rest kept."""
    try:
        return Elements.model_validate(values), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "__all__"
            errors.setdefault(name, humanise(err))
        valid = {k: v for k, v in values.items() if k not in errors and k in Elements.model_fields}
        return Elements.model_validate(valid), errors


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [
        f.name
        for f in FIELDS
        if is_filled(old.get(f.name)) or is_filled(new.get(f.name))
        if old.get(f.name) != new.get(f.name)
    ]
